import Foundation
import GRDB
import SystemPackage
import Testing

/// State left half-done by the previous release (made by main's binaries before the `--json` keys became snake_case:
/// `Tests/Fixtures/previous-release/README.md` says how) resumes under this code: the persisted records — the
/// heartbeat, the lock's owner record, a backfill's options — keep the keys they were written with.
@Suite("State written by the previous release", .inATestSlot)
struct PreviousReleaseStateTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/previous-release")

    static func fixture(_ path: String) -> String {
        (try? String(contentsOf: fixtures.appendingPathComponent(path), encoding: .utf8)) ?? ""
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    @Test("an extraction killed by the previous release: its heartbeat reads, its lock's token goes on from 1, the run finishes")
    func extraction() async throws {
        let dir = TemporaryDirectory()
        let inputs = dir.file("in")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for n in 1...12 { writeRaw("file \(n)\n", to: inputs.appending(String(format: "f%02d.txt", n))) }
        for suffix in ["done", "rows.jsonl", "heartbeat", "lock", "errors.jsonl"] {
            writeRaw(Self.fixture("extraction/out.jsonl.\(suffix)"), to: dir.file("out.jsonl.\(suffix)"))
        }
        let out = dir.file("out.jsonl").string
        let extract = ChildProcess.built("durable-extract")

        let status = await CLIRun(extract, ["status", "--output", out, "--inputs", inputs.string, "--json"])
        let before = try Self.object(status.stdout)
        #expect(before["done"] as? Int == 6 && before["pending"] as? Int == 6, "\(status.stdout)")
        let beat = try #require(before["last_heartbeat"] as? [String: Any], "the old heartbeat record reads: \(status.stdout)")
        #expect(beat["beat_at"] as? String == "2026-12-02T11:28:03Z")
        #expect((beat["progress"] as? [String: Any])?["completed"] as? Int == 6)

        let run = await CLIRun(extract, ["run", "--inputs", inputs.string, "--output", out, "--command", #"printf '{"n":1}'"#, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try Self.object(run.stdout)
        #expect(summary["already_done"] as? Int == 6 && summary["completed"] as? Int == 6 && summary["rows_verified"] as? Int == 12, "\(run.stdout)")
        // The owner record written by the previous release (token 1) was read: the fencing token went on, not back to 1.
        let owner = try Self.object(readText(dir.file("out.jsonl.lock")))
        #expect(owner["token"] as? Int == 2, "\(owner)")
        #expect(owner["acquiredAt"] is String, "the owner record keeps its keys: \(owner)")
    }

    @Test("a durable-resume run killed by the previous release resumes from its 10 committed results")
    func run() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("runs.db").string
        let queue = try DatabaseQueue(path: db)
        try queue.inDatabase { try $0.execute(sql: Self.fixture("resume/runs.sql")) }  // the dump holds its own BEGIN … COMMIT
        try queue.close()
        let lock = "runs.db.run-98b7f854-5ddb-40b6-8076-56e7b40408e8.lock"
        writeRaw(Self.fixture("resume/\(lock)"), to: dir.file(lock))

        let resume = await CLIRun(ChildProcess.built("durable-resume"), ["resume", "--db", db, "--run-id", "98b7f854-5ddb-40b6-8076-56e7b40408e8", "--json", "--jobs", "4"])
        #expect(resume.status == 0, "\(resume.stderr)")
        let summary = try Self.object(resume.stdout)
        #expect(summary["skipped"] as? Int == 10 && summary["processed"] as? Int == 10, "\(resume.stdout)")
        let run = try #require(summary["run"] as? [String: Any])
        #expect(run["completed"] as? Int == 20 && run["status"] as? String == "completed", "\(resume.stdout)")
        #expect((run["configuration"] as? [String: Any])?["batch_size"] as? Int == 2, "the recorded configuration is the run's")
    }

    @Test("a backfill interrupted under the previous release resumes with its recorded options (camelCase in the database)")
    func backfill() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db").string
        let queue = try DatabaseQueue(path: db)
        try queue.inDatabase { try $0.execute(sql: Self.fixture("backfill/app.sql")) }  // the dump holds its own BEGIN … COMMIT
        try queue.close()
        let backfill = ChildProcess.built("durable-backfill")

        let resumed = await CLIRun(backfill, ["resume", "--db", db, "--name", "fx_v1", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let status = await CLIRun(backfill, ["status", "--db", db, "--name", "fx_v1", "--json"])
        let record = try #require((try Self.object(status.stdout)["backfills"] as? [[String: Any]])?.first, "\(status.stdout)")
        #expect(record["status"] as? String == "completed")
        let options = try #require(record["options"] as? [String: Any])
        // Read with the keys it was written with: a renamed key would have left resume on the defaults
        // (batches sized toward 50 ms from 100 rows, a nice ratio of 0.5, no fixed pause).
        #expect(options["batch_size"] as? Int == 20 && options["target_batch_milliseconds"] is NSNull, "\(options)")
        #expect(options["nice_ratio"] as? Double == 0 && options["fixed_yield_milliseconds"] as? Double == 100, "\(options)")
        #expect(options["busy_timeout_milliseconds"] as? Double == 2000, "\(options)")
        #expect(record["last_batch_size"] as? Int == 20 && (record["batches"] as? Int ?? 0) >= 15, "\(record)")
        let stored = try await DatabaseQueue(path: db).read { db in
            try String.fetchOne(db, sql: "SELECT options FROM _durable_backfills WHERE name = 'fx_v1'")
        }
        #expect(stored?.contains("\"niceRatio\":0") == true, "the stored options keep their keys: \(stored ?? "")")
        let wrong = try await DatabaseQueue(path: db).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t WHERE v != id * 2") }
        #expect(wrong == 0)
    }
}
