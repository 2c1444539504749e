import Foundation
import SystemPackage
import Testing

/// The three CLIs report an error in one layout, through DurableCLI's `ErrorReport` (issue 15): `error: <what
/// happened>` on one line, what to do next on the following line indented by two spaces, and the exit code of the
/// error's failure class. durable-resume printed its own layout (the hint flush left) before.
@Suite("Every CLI reports an error in one layout (the built binaries)", .inATestSlot)
struct ErrorLayoutTests {
    let dir = TemporaryDirectory()

    /// Runs a built CLI and returns its exit status and what it printed (stdout and stderr together).
    func run(_ tool: String, _ arguments: [String]) async throws -> (status: Int32, text: String) {
        let child = try ChildProcess(ChildProcess.built(tool), arguments)
        let status = await child.wait()
        return (status, child.text)
    }

    /// The line after the one that starts with `error: `, or nil.
    func hintLine(_ text: String) -> Substring? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { $0.hasPrefix("error: ") }), index + 1 < lines.count else { return nil }
        return lines[index + 1]
    }

    @Test("a read-only command on a path that does not exist: the same layout and exit 1 from all three",
          arguments: ["durable-extract", "durable-resume", "durable-backfill"])
    func missingState(tool: String) async throws {
        let arguments = tool == "durable-extract"
            ? ["status", "--output", dir.file("typo.jsonl").string]
            : ["status", "--db", dir.file("typo.sqlite").string]
        let result = try await run(tool, arguments)
        #expect(result.status == 1, "\(result.text)")
        let hint = try #require(hintLine(result.text), "an error line and a hint after it: \(result.text)")
        #expect(hint.hasPrefix("  ") && !hint.hasPrefix("   "), "the hint is indented by two spaces: \(result.text)")
        #expect(hint.count > 10, "\(result.text)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("typo.sqlite").string), "a read-only command created nothing")
    }
}
