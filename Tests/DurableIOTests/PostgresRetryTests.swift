import DurableIO
import DurableRunStore
import Foundation
import PostgresNIO
import Testing

@testable import DurablePostgres

/// Retries and the failure budget on PostgreSQL (issue 16), with real `durable-resume` workers: a worker keeps
/// renewing the lease of an item while it waits to retry it, so no other worker takes the item over; `work` stops
/// starting items past `--max-failures`.
@Suite(
    "durable-resume retries and failure budget on PostgreSQL (built binary)", .serialized,
    .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"), .inATestSlot)
struct PostgresRetryTests {
    @Test("a retry wait (up to 8 s) far past the lease (1 s): a second worker never takes the item; 2 runs of each command, no refused result")
    func leaseIsRenewedWhileWaitingToRetry() async throws {
        let f = try await PostgresCLIFixture(count: 6)
        defer { Task { await f.dispose() } }
        let counts = "\(f.dir)/counts"
        try FileManager.default.createDirectory(atPath: counts, withIntermediateDirectories: true)
        // Each item exits 75 on its first run, succeeds on its second: one retry each, after a wait of up to 8 s.
        let command = #"input=$(cat); c='\#(counts)'/{}; n=$(( $(cat "$c" 2>/dev/null || echo 0) + 1 )); echo $n > "$c"; "#
            + #"[ $n -le 1 ] && exit 75; printf '%s' "$input""#
        let common = ["--store", f.url, "--lease", "1", "--retries", "1", "--retry-delay", "8s", "--quiet"]
        let first = try ResumeCLI(
            ["start", "--source", f.csv, "--id", "id", "--command", command, "--jobs", "6", "--claim-size", "6",
             "--batch-size", "1"] + common, in: f.dir)
        let id = try #require(await first.runID(), "\(first.stderr)")
        try await Task.sleep(for: .milliseconds(1500))  // every item claimed by the first worker, most waiting
        let second = try ResumeCLI(["work", "--run-id", id, "--jobs", "2"] + common, in: f.dir)
        #expect(await first.wait() == 0, "\(first.stderr)")
        #expect(await second.wait() == 0, "\(second.stderr)")
        for item in 1...6 {
            #expect(readText(FilePath("\(counts)/\(item)")) == "2\n", "item \(item) ran twice: first attempt and its retry, never taken over")
        }
        #expect(try await f.int("SELECT count(*) FROM results WHERE run_id = \(id)") == 6)
        #expect(try await f.int("SELECT count(*) FROM results WHERE run_id = \(id) AND attempt_count = 2") == 6)
        #expect(try await f.store.refusedCount(runID: id) == 0, "no result arrived after its lease expired")
    }

    @Test("start and work with --max-failures 2, every item failing: each stops starting items soon after its third failure, exit 1 naming the budget")
    func workStopsPastTheFailureBudget() async throws {
        let f = try await PostgresCLIFixture(count: 30)
        defer { Task { await f.dispose() } }
        let start = try await ResumeCLI.run(
            ["start", "--store", f.url, "--source", f.csv, "--id", "id", "--command", "echo nope >&2; exit 1", "--jobs", "1",
             "--max-failures", "2", "--quiet"], in: f.dir)
        #expect(start.status == 1, "\(start.stderr)")
        #expect(start.stderr.contains("--max-failures (2 failures)"), "\(start.stderr)")
        let id = String(try #require(start.stdout.split(separator: "\n").first).dropFirst(4))
        let recorded = try await f.int("SELECT count(*) FROM results WHERE run_id = \(id)")
        #expect(recorded >= 3 && recorded < 30, "stopped soon after the third failure: \(recorded)")

        // A worker that joins later runs the run's stored command: it stops past its own budget too.
        let work = try await ResumeCLI.run(
            ["work", "--store", f.url, "--run-id", id, "--jobs", "1", "--max-failures", "2", "--quiet"], in: f.dir)
        #expect(work.status == 1, "\(work.stderr)")
        #expect(work.stderr.contains("--max-failures (2 failures)"), "\(work.stderr)")
        let after = try await f.int("SELECT count(*) FROM results WHERE run_id = \(id)")
        #expect(after >= recorded + 3 && after < 30, "the worker stopped soon after its third failure: \(recorded) → \(after)")
    }
}
