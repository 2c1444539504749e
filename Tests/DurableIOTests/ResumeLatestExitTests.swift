import Foundation
import Testing

/// `durable-resume resume --latest` when nothing is resumable (issue 17): every run completed is "nothing to do"
/// (exit 5, as DESIGN.md's table and `--run-id` of a completed run say); no run at all is a failure (exit 1). The
/// built binary on a real SQLite database.
@Suite("durable-resume resume --latest: exit 5 when every run is completed", .inATestSlot)
struct ResumeLatestExitTests {
    @Test("every run completed: exit 5, saying so and naming the latest run; no run at all: exit 1")
    func latest() async throws {
        let f = ResumeFixture(count: 3)
        let start = try await BuiltCLI.run("durable-resume", ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", "cat", "--quiet"], in: f.dir)
        #expect(start.status == 0, "\(start.stderr)")
        let id = start.stdout.split(separator: "\n").first.map { String($0.dropFirst(4)) } ?? ""

        let resumed = try await BuiltCLI.run("durable-resume", ["resume", "--db", f.db, "--latest"], in: f.dir)
        #expect(resumed.status == 5, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("every run in \(f.db) is completed") && resumed.stderr.contains(id), "\(resumed.stderr)")

        let g = ResumeFixture(count: 3)
        let ingest = try await BuiltCLI.run("durable-resume", ["ingest", "--db", g.db, "--source", g.csv, "--id", "id"], in: g.dir)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let none = try await BuiltCLI.run("durable-resume", ["resume", "--db", g.db, "--latest"], in: g.dir)
        #expect(none.status == 1 && none.stderr.contains("there are no runs in \(g.db)"), "\(none.stderr)")
    }
}
