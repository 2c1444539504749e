// snippet.of Documentation/Resume.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableRunStore   // the protocols, sources, records and the runner
import DurableSQLite     // the store
// snippet.hide

enum ResumeLibraryExample {
    static func classify(_ json: String) async throws -> [UInt8] { Array(json.utf8) }

    static func body() async throws {
// snippet.show

let store = try SQLiteRunStore(path: "runs.sqlite")
let source = try await store.ingest(
    SourceFile(path: "narratives.csv", idColumns: ["incident_id", "narrative_type"]), allowNewVersion: false).source
let runner = ResumableRunner(store: store)
let outcome = try await runner.start(
    source: source, name: "prod", configuration: RunConfiguration(command: "classify"),
    options: .init(jobs: 8), announce: { print("run \($0.id)") }
) { item in
    try await classify(item.json)          // returns the result's JSON bytes, or throws
}
try store.close()                          // the last checkpoint and close, checked: report success after it
print(outcome.run.status, outcome.run.completedCount)
// snippet.hide
    }
}
