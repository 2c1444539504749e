import DurableRunStore
import Foundation
import Synchronization
import GRDB
import Testing

/// The spec's acceptance tests, against the built `durable-resume` with real SQLite files and real processes.
@Suite("durable-resume (built binary)", .serialized, .inATestSlot)
struct DurableResumeTests {
    @Test("1. kill -9 mid-run, then resume: partial → full, no duplicates, completed items not redone")
    func killThenResume() async throws {
        let f = ResumeFixture(count: 400)
        let start = try ResumeCLI(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(sleep: 0.02),
             "--jobs", "4", "--batch-size", "10", "--quiet"], in: f.dir)
        // Timing runs on a thread of its own: an await on the busy cooperative pool can resume after the run is over.
        let (announced, killed) = try await offPool { () throws -> (String?, Bool) in
            guard let id = start.waitForRunID() else { return (nil, false) }
            let deadline = Date().addingTimeInterval(240)  // the full suite can load 2 cores twentyfold
            while try f.committed(runID: id) < 100, Date() < deadline, start.process.isRunning { Thread.sleep(forTimeInterval: 0.002) }
            guard start.process.isRunning else { return (id, false) }
            start.signal(SIGKILL)  // without warning
            return (id, true)
        }
        let id = try #require(announced)
        #expect(start.stdout.hasPrefix("run \(id)\n"), "`run <ID>` is the first line")
        #expect(killed, "the run finished before it could be killed")
        #expect(await start.wait() == SIGKILL)
        let partial = try f.resultCount()
        #expect(partial >= 100 && partial < 400, "killed mid-run: \(partial) results")

        let status = try await ResumeCLI.run(["status", "--db", f.db, "--run-id", id, "--json"], in: f.dir)
        #expect(status.status == 0)
        #expect(status.stdout.contains(#""state":"interrupted""#), "\(status.stdout)")
        #expect(status.stdout.contains(#""status":"running""#))

        let resume = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--quiet"], in: f.dir)
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(resume.stdout.hasPrefix("run \(id)\n"))
        #expect(resume.stderr.contains("\(partial) of 400 items already done; \(400 - partial) to process"), "\(resume.stderr)")
        try f.read { (db: Database) throws -> Void in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results WHERE run_id = ?", arguments: [id]) == 400)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT item_id) FROM results") == 400)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results WHERE error_occurred = 1") == 0)
            #expect(try String.fetchOne(db, sql: "SELECT status FROM runs WHERE id = ?", arguments: [id]) == "completed")
        }
        // Only the uncommitted tail of the killed session ran twice: at most one batch (10) and the jobs in flight (4).
        let calls = f.calls.count
        #expect(calls >= 400 && calls <= 400 + 10 + 4, "\(calls) command runs for 400 items")

        let again = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id], in: f.dir)
        #expect(again.status == 5, "resuming a completed run exits 5")
        #expect(again.stderr.contains("is completed: 400 of 400 items succeeded"))
        #expect(f.calls.count == calls)
    }

    @Test("2. idempotency: re-running processed items adds no row (the unique constraint holds)")
    func idempotentReruns() async throws {
        let f = ResumeFixture(count: 20, failEvery: 5)
        let first = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(failing: true), "--quiet"], in: f.dir)
        #expect(first.status == 1)
        let id = String(try #require(first.stdout.split(separator: "\n").first).dropFirst(4))
        // Retrying rewrites the 4 errored items' rows in place, twice.
        for _ in 0..<2 {
            let retry = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--retry-errors-only", "--quiet"], in: f.dir)
            #expect(retry.status == 1)
        }
        try f.read { (db: Database) throws -> Void in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results") == 20)
            #expect(try Int.fetchOne(db, sql: "SELECT MAX(attempt_count) FROM results") == 3)
            #expect(try Int.fetchOne(db, sql: "SELECT SUM(attempt_count) FROM results") == 16 + 4 * 3)
        }
        let queue = try DatabaseQueue(path: f.db)
        #expect(throws: DatabaseError.self) {
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO results (run_id, item_id, output, error_occurred, created_at)
                    SELECT run_id, item_id, output, 0, created_at FROM results LIMIT 1
                    """)
            }
        }
    }

    @Test("3. checksum mismatch: resume fails fast naming both checksums (exit 3); status is checked first")
    func checksumMismatch() async throws {
        let f = ResumeFixture(count: 10, failEvery: 2)
        let original = try SourceChecksum.sha256(ofFileAt: f.csv)
        let first = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(failing: true), "--quiet"], in: f.dir)
        #expect(first.status == 1)
        let id = String(try #require(first.stdout.split(separator: "\n").first).dropFirst(4))
        writeRaw(readText(f.directory.file("items.csv")) + "11,B,new,no\n", to: f.directory.file("items.csv"))
        let changed = try SourceChecksum.sha256(ofFileAt: f.csv)
        let callsBefore = f.calls.count

        let resume = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--source", f.csv, "--retry-errors-only"], in: f.dir)
        #expect(resume.status == 3, "\(resume.stderr)")
        #expect(resume.stderr.contains("has sha256 \(changed), but run \(id) was started on items.csv v1 with sha256 \(original)"), "\(resume.stderr)")
        #expect(f.calls.count == callsBefore, "nothing was processed")
        #expect(!resume.stdout.contains("run "), "failed before announcing the run")

        // A completed run is refused as completed (5) before its checksum is looked at.
        f.touch("fixed")
        writeRaw(readText(f.directory.file("items.csv")).replacingOccurrences(of: "11,B,new,no\n", with: ""), to: f.directory.file("items.csv"))
        let fixed = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--source", f.csv, "--retry-errors-only", "--quiet"], in: f.dir)
        #expect(fixed.status == 0, "\(fixed.stderr)")
        writeRaw("id,kind,text,fail\n1,A,other,no\n", to: f.directory.file("items.csv"))
        let completed = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--source", f.csv], in: f.dir)
        #expect(completed.status == 5, "\(completed.stderr)")
    }

    @Test("4. retry errors only: only errored items are reprocessed; success clears the error, keeps the first message")
    func retryErrorsOnly() async throws {
        let f = ResumeFixture(count: 30, failEvery: 7)
        let first = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--id", "kind", "--command", f.command(failing: true),
             "--jobs", "3", "--quiet"], in: f.dir)
        #expect(first.status == 1)
        #expect(first.stderr.contains("0 not done"), "\(first.stderr)")
        #expect(first.stderr.contains("--retry-errors-only"), "the hint names the retry: \(first.stderr)")
        let id = String(try #require(first.stdout.split(separator: "\n").first).dropFirst(4))
        #expect(try f.read { try String.fetchOne($0, sql: "SELECT status FROM runs")! } == "failed")
        #expect(f.calls.count == 30)

        f.touch("fixed")
        // Through the environment, as the spec's wrapper would.
        let retry = try await ResumeCLI.run(
            ["resume", "--db", f.db, "--quiet"], in: f.dir, environment: ["EXPERIMENT_ID": id, "RETRY_ERRORS_ONLY": "1"])
        #expect(retry.status == 0, "\(retry.stderr)")
        let retried = f.calls.dropFirst(30)
        #expect(retried.count == 4, "items 7, 14, 21, 28 only")
        #expect(retried.allSatisfy { $0.contains(#""fail":"yes""#) })
        try f.read { (db: Database) throws -> Void in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results") == 30)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results WHERE error_occurred = 1") == 0)
            let rows = try Row.fetchAll(db, sql: "SELECT attempt_count, first_error_message, error_category FROM results WHERE first_error_message IS NOT NULL")
            #expect(rows.count == 4)
            for row in rows {
                #expect(row[0] as Int == 2)
                #expect((row[1] as String).contains("exit status 3: boom"))
                #expect((row[2] as String?) == nil)
            }
            #expect(try String.fetchOne(db, sql: "SELECT status FROM runs")! == "completed")
        }
    }

    @Test("5. concurrent resume is rejected naming the holder (exit 4); a killed holder shows as interrupted")
    func concurrentResume() async throws {
        let f = ResumeFixture(count: 100)
        f.touch("slow")
        let start = try ResumeCLI(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(sleep: 0.1, slowWhileFlag: true),
             "--batch-size", "5", "--quiet"], in: f.dir)
        let id = try #require(await start.runID())
        let second = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id], in: f.dir)
        #expect(second.status == 4, "\(second.stderr)")
        #expect(second.stderr.contains("is held by pid \(start.process.processIdentifier) (durable-resume start)"), "\(second.stderr)")
        let live = try await ResumeCLI.run(["status", "--db", f.db, "--run-id", id], in: f.dir)
        #expect(live.stdout.contains("— running"), "\(live.stdout)")
        #expect(live.stdout.contains("held by pid \(start.process.processIdentifier)"))

        start.signal(SIGKILL)
        await start.wait()
        let status = try await ResumeCLI.run(["status", "--db", f.db, "--run-id", id], in: f.dir)
        #expect(status.stdout.contains("— interrupted"), "\(status.stdout)")
        let list = try await ResumeCLI.run(["list", "--db", f.db], in: f.dir)
        #expect(list.stdout.contains("\(id)  interrupted"), "\(list.stdout)")

        f.remove("slow")
        let resume = try await ResumeCLI.run(["resume", "--db", f.db, "--latest", "--quiet"], in: f.dir)
        #expect(resume.status == 0, "the kernel released the dead holder's lock: \(resume.stderr)")
        #expect(try f.resultCount() == 100)
    }

    @Test("6. progress and ETA advance during the run; finalize sets the final metrics")
    func progressAndMetrics() async throws {
        let f = ResumeFixture(count: 40)
        let start = try ResumeCLI(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(sleep: 0.1),
             "--batch-size", "4", "--quiet"], in: f.dir)
        let (announced, counts, etas, progressTimes) = try await offPool { () throws -> (String?, [Int], Set<String>, Set<String>) in
            guard let id = start.waitForRunID() else { return (nil, [], [], []) }
            var counts: [Int] = []
            var etas: Set<String> = []
            var progressTimes: Set<String> = []
            while start.process.isRunning {
                if let row = try? f.read({ try Row.fetchOne($0, sql: "SELECT completed_count, estimated_completion_at, last_progress_at, status FROM runs WHERE id = ?", arguments: [id]) }),
                    row[3] as String == "running"
                {
                    counts.append(row[0])
                    if let eta = row[1] as String? { etas.insert(eta) }
                    progressTimes.insert(row[2])
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return (id, counts, etas, progressTimes)
        }
        let id = try #require(announced)
        #expect(await start.wait() == 0)
        #expect(counts == counts.sorted(), "the completed count never goes back")
        #expect(Set(counts).count >= 5, "the count advanced in batches: \(Set(counts).sorted())")
        #expect(etas.count >= 3, "the ETA was recorded and updated: \(etas.count) values")
        #expect(progressTimes.count >= 3)

        let status = try await ResumeCLI.run(["status", "--db", f.db, "--run-id", id, "--json"], in: f.dir)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect(object["schema"] as? Int == 1)
        #expect(object["state"] as? String == "completed")
        #expect(object["completed"] as? Int == 40)
        #expect(object["finished_at"] is String)
        #expect(object["estimated_completion_at"] is NSNull, "every key is present, null when unknown")
        let metrics = try #require(object["final_metrics"] as? [String: Any])
        #expect(metrics["succeeded"] as? Int == 40)
        #expect(metrics["failed"] as? Int == 0)
        #expect(metrics["attempts"] as? Int == 40)
        #expect(metrics["session_items"] as? Int == 40)
        #expect((metrics["items_per_second"] as? Double ?? 0) > 0)
    }

    @Test("SIGINT commits the finished results of the current batch and exits 130 with how to resume")
    func sigintCommitsBatch() async throws {
        let f = ResumeFixture(count: 200)
        let start = try ResumeCLI(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(sleep: 0.05),
             "--jobs", "2", "--batch-size", "1000", "--batch-seconds", "600", "--quiet"], in: f.dir)
        let (announced, before) = try await offPool { () throws -> (String?, Int) in
            let id = start.waitForRunID()  // announced before any work
            let deadline = Date().addingTimeInterval(60)
            while f.calls.count < 10, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            let committed = try f.resultCount()
            start.signal(SIGINT)
            return (id, committed)
        }
        let id = try #require(announced)
        #expect(before == 0, "nothing is committed before the batch closes")
        #expect(await start.wait() == 130, "\(start.stderr)")
        let committed = try f.resultCount()
        #expect(committed >= 10 && committed < 200, "\(committed) results committed at shutdown")
        #expect(committed == f.calls.count, "every item that ran is recorded (none was killed within the grace)")
        #expect(start.stderr.contains("stopped by SIGINT"), "\(start.stderr)")
        #expect(start.stderr.contains("resume with: durable-resume resume --db \(f.db) --run-id \(id)"))
        let status = try await ResumeCLI.run(["status", "--db", f.db, "--run-id", id, "--json"], in: f.dir)
        #expect(status.stdout.contains(#""state":"interrupted""#))
    }

    @Test("RESUME=1 with EXPERIMENT_ID makes start resume; --no-retry-errors-only wins over RETRY_ERRORS_ONLY=1")
    func environment() async throws {
        let f = ResumeFixture(count: 12, failEvery: 4)
        let first = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(failing: true), "--quiet"], in: f.dir)
        #expect(first.status == 1)
        let id = String(try #require(first.stdout.split(separator: "\n").first).dropFirst(4))
        let flagWins = try await ResumeCLI.run(
            ["resume", "--db", f.db, "--run-id", id, "--no-retry-errors-only", "--quiet"], in: f.dir,
            environment: ["RETRY_ERRORS_ONLY": "1"])
        #expect(flagWins.status == 1, "missing-only: nothing to do, still failed")
        #expect(f.calls.count == 12, "no errored item was retried")
        f.touch("fixed")
        let viaStart = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--quiet"], in: f.dir,
            environment: ["RESUME": "1", "EXPERIMENT_ID": id, "RETRY_ERRORS_ONLY": "1"])
        #expect(viaStart.status == 0, "\(viaStart.stderr)")
        #expect(viaStart.stdout.hasPrefix("run \(id)\n"), "the same run, not a new one")
        #expect(f.calls.count == 15)
        #expect(try f.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM runs") } == 1)
    }

    @Test("--help documents the exit codes and that flags win over the environment")
    func help() async throws {
        let dir = TemporaryDirectory()
        let help = try await ResumeCLI.run(["--help"], in: dir.path.string)
        #expect(help.stdout.contains("5    nothing to do: already completed"))
        #expect(help.stdout.contains("flags win over the environment"))
        #expect(help.stdout.contains("RETRY_ERRORS_ONLY=1"))
    }
}
