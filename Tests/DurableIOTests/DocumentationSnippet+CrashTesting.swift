// snippet.of Documentation/CrashTesting.md 2 — compiled with the tests, whose trace harness it shows (see
// Examples/DocumentationSnippets/README-1.swift for how snippets are checked).
import Testing

enum CrashTestingTraceSnippet {
    static func body(arguments: [String], commits: Int) async throws {
// snippet.show
guard let trace = try await SystemCallTrace.run(ResumeCLI.executable, arguments) else { return }  // no strace: skipped
let completed = try #require(trace.output(containing: "completed"))
#expect(trace.syncs(ofPathEndingIn: "runs.sqlite-wal").count >= commits)       // one sync per batch commit, at least
trace.expectEveryWrite(toPathEndingIn: "runs.sqlite-wal", syncedBefore: completed)
trace.expectLastSync(ofPathEndingIn: "runs.sqlite-wal", before: completed)    // success only after the last sync
// snippet.hide
    }
}
