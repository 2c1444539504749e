import Foundation
import GRDB
import Testing

/// durable-resume `--max-failures N|N%` (issue 16), with durable-extract's meaning: once more items failed than N
/// (or N% of the run's items), no new item starts, the finished ones are committed,
/// the run stays `running` and the command exits 1 saying so. The built binary on a real SQLite database.
@Suite("durable-resume --max-failures stops starting items past the budget (the built binary)", .inATestSlot)
struct ResumeFailureBudgetTests {
    func results(_ f: ResumeFixture) throws -> (count: Int, status: String) {
        try f.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results")!, try String.fetchOne(db, sql: "SELECT status FROM runs")!)
        }
    }

    @Test("--max-failures 2 with every item failing: 3 results, the run stays running, exit 1 naming the budget; a resume after the fix records the rest")
    func countBudget() async throws {
        let f = ResumeFixture(count: 20, failEvery: 1)
        let start = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(failing: true),
             "--jobs", "1", "--max-failures", "2", "--quiet"], in: f.dir)
        #expect(start.status == 1, "\(start.stderr)")
        #expect(start.stderr.contains("past --max-failures (2 failures)"), "\(start.stderr)")
        let stopped = try results(f)
        #expect(stopped.count == 3 && stopped.status == "running", "\(stopped)")
        #expect(f.calls.count == 3, "no item started after the third failure")

        writeRaw("", to: f.directory.file("fixed"))
        let id = try f.read { try String.fetchOne($0, sql: "SELECT id FROM runs")! }
        let resume = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--quiet"], in: f.dir)
        let after = try results(f)
        #expect(after.count == 20 && after.status == "failed", "the 17 without a result succeed, the 3 errors stay: \(after) \(resume.stderr)")
    }

    @Test("--max-failures 20% allows 4 failures of 20 (the run is finalized); 10% stops after the third")
    func shareBudget() async throws {
        let within = ResumeFixture(count: 20, failEvery: 5)
        let ok = try await ResumeCLI.run(
            ["start", "--db", within.db, "--source", within.csv, "--id", "id", "--command", within.command(failing: true),
             "--jobs", "1", "--max-failures", "20%", "--quiet"], in: within.dir)
        #expect(ok.status == 1 && !ok.stderr.contains("--max-failures"), "4 items failed, within the budget: \(ok.stderr)")
        let finalized = try results(within)
        #expect(finalized.count == 20 && finalized.status == "failed", "\(finalized)")

        let past = ResumeFixture(count: 20, failEvery: 5)
        let stopped = try await ResumeCLI.run(
            ["start", "--db", past.db, "--source", past.csv, "--id", "id", "--command", past.command(failing: true),
             "--jobs", "1", "--max-failures", "10%", "--quiet"], in: past.dir)
        #expect(stopped.status == 1 && stopped.stderr.contains("3 items failed in this session, past --max-failures (10 % of the run's 20 items: 2 failures)"), "\(stopped.stderr)")
        let left = try results(past)
        #expect(left.count == 15 && left.status == "running", "items 5, 10 and 15 failed; none started after: \(left)")
    }
}
