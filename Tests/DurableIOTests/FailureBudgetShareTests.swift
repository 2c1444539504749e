import DurableIO
import Foundation
import GRDB
import Testing

/// `--max-failures N%` is a share of the run's items, not of the items pending in this session (issue 17): with
/// one input among 50 that always fails and `--max-failures 5%`, the second run retries it, it fails again, and
/// the run must not stop on the budget — 1 of 50 is 2 %, though it is 1 of the 1 pending (100 %). The built binaries.
@Suite("--max-failures N% is a share of the run's items, in durable-extract and durable-resume", .inATestSlot)
struct FailureBudgetShareTests {
    @Test("durable-extract: one bad input among 50, --max-failures 5%, run twice: neither run stops on the budget")
    func extract() async throws {
        let dir = TemporaryDirectory()
        let inputs = dir.file("in")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 0..<50 { writeRaw("x\n", to: inputs.appending(String(format: "f%02d.txt", i))) }
        let arguments = [
            "run", "--inputs", inputs.string, "--output", dir.file("out.jsonl").string, "--jobs", "2", "--quiet", "--max-failures", "5%",
            "--command", #"case {} in *f17.txt) echo 'corrupt input' >&2; exit 3;; esac; printf '{"n":1}'"#,
        ]
        for run in 1...2 {
            let r = try await BuiltCLI.run("durable-extract", arguments)
            #expect(r.status == 1, "run \(run): \(r.stderr)")
            #expect(!r.stderr.contains("past the budget"), "run \(run) stopped on the budget: \(r.stderr)")
            #expect(r.stderr.contains("finished with failures: 49 rows verified"), "run \(run): \(r.stderr)")
        }
    }

    /// Two bad items: the first failure of the resume is 1 of 2 pending (50 %), and it stopped there before the fix
    /// (a session that has started every item has nothing left to stop).
    @Test("durable-resume: two bad items among 50, --max-failures 5%, start then resume --retry-errors-only: no budget stop")
    func resume() async throws {
        let f = ResumeFixture(count: 50)
        let command = #"input=$(cat); case "$input" in *'"id":"17"'*|*'"id":"33"'*) echo 'corrupt item' >&2; exit 3;; esac; printf '%s' "$input""#
        let start = try await BuiltCLI.run(
            "durable-resume", ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", command, "--max-failures", "5%", "--quiet"], in: f.dir)
        #expect(start.status == 1 && !start.stderr.contains("past --max-failures"), "\(start.stderr)")
        let id = try #require(start.stdout.split(separator: "\n").first.map { String($0.dropFirst(4)) })
        let resumed = try await BuiltCLI.run(
            "durable-resume", ["resume", "--db", f.db, "--run-id", id, "--retry-errors-only", "--max-failures", "5%", "--jobs", "1", "--quiet"], in: f.dir)
        #expect(resumed.status == 1, "\(resumed.stderr)")
        #expect(!resumed.stderr.contains("past --max-failures"), "the resume stopped on the budget: \(resumed.stderr)")
        #expect(resumed.stderr.contains("failed: 48 of 50 items succeeded, 2 failed"), "\(resumed.stderr)")
    }

    @Test("FailureBudget: a share of the run's items")
    func budget() {
        #expect(FailureBudget.fraction(0.05).allows(2, of: 50))
        #expect(!FailureBudget.fraction(0.05).allows(3, of: 50))
        #expect("\(FailureBudget.fraction(0.05))" == "5 % of the items")
    }
}
