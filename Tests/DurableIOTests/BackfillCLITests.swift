import DurableIO
import DurableSQLite
import Foundation
import SystemPackage
import Testing

/// The `durable-backfill` executable, run as an operator runs it.
@Suite("durable-backfill CLI", .inATestSlot)
struct BackfillCLITests {
    static let name = "tx_last_seen_backfill_v1"

    static func runArguments(_ db: FilePath, where predicate: String = Incident.predicate, _ extra: [String] = []) -> [String] {
        ["run", "--db", db.string, "--name", name, "--table", "transmissions", "--key", "id", "--set", Incident.set, "--where", predicate, "--quiet"] + extra
    }

    static func resume(_ db: FilePath) async throws -> (status: Int32, output: String) {
        try await ChildProcess.backfill(["resume", "--db", db.string, "--name", name, "--quiet"])
    }

    static func batches(_ db: FilePath) throws -> Int {
        try Incident.int(db, "SELECT batches FROM _durable_backfills WHERE name = '\(name)'") ?? 0
    }

    @Test("Without --nice-ratio a run pauses half of each batch's time (issue 18, target 5's measured default), and records it")
    func defaultNiceRatioIsRecorded() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 300, withoutObservations: 30)
        let run = try await ChildProcess.backfill(Self.runArguments(db, ["--batch-size", "100"]))
        #expect(run.status == 0, "\(run.output)")
        let record = try #require(try Backfill.status(named: Self.name, in: db.string))
        #expect(record.options.niceRatio == 0.5)
        #expect(BackfillOptions().niceRatio == 0.5, "the library's default is the command's")
    }

    @Test("A failure in the first query: exit 1 with the message, recorded failed; resume completes after the fix")
    func firstQueryFails() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 800, withoutObservations: 100)
        let predicate = "last_seen = 0 AND id NOT IN (SELECT id FROM skip_list)"
        let run = try await ChildProcess.backfill(Self.runArguments(db, where: predicate))
        #expect(run.status == 1)
        #expect(run.output.contains("no such table: skip_list"))
        #expect(run.output.contains("durable-backfill resume --db \(db.string) --name \(Self.name)"))
        let status = try await ChildProcess.backfill(["status", "--db", db.string, "--name", Self.name, "--json"])
        #expect(status.status == 0)
        #expect(status.output.contains("\"status\":\"failed\""))
        #expect(status.output.contains("\"schema\":2"))
        #expect(!status.output.contains("\"status\":\"completed\""))

        try Incident.execute(db, "CREATE TABLE skip_list (id INTEGER PRIMARY KEY)")
        let reference = dir.file("reference.db")
        try Incident.oneShot(copyOf: db, to: reference, where: predicate)
        let resumed = try await Self.resume(db)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(try Incident.rows(db) == Incident.rows(reference))
    }

    @Test("A failure in a middle batch: exit 1 with the message, cursor and data agree; resume completes after the fix")
    func middleBatchFails() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 1_500, withoutObservations: 150)
        let reference = dir.file("reference.db")
        try Incident.oneShot(copyOf: db, to: reference)
        try Incident.execute(db, """
            CREATE TRIGGER injected BEFORE UPDATE OF last_seen ON transmissions WHEN NEW.id = 777
            BEGIN SELECT RAISE(ABORT, 'injected failure at 777'); END
            """)
        let run = try await ChildProcess.backfill(Self.runArguments(db, ["--batch-size", "60", "--nice-ratio", "0"]))
        #expect(run.status == 1)
        #expect(run.output.contains("injected failure at 777"))
        #expect(run.output.contains("recorded as failed"))
        let record = try #require(try Backfill.status(named: Self.name, in: db.string))
        #expect(record.status == .failed)
        let cursor = try #require(record.cursorKey)
        #expect(cursor > 600 && cursor < 777)
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE id > \(cursor) AND last_seen NOT IN (0, 7)") == 0)

        try Incident.execute(db, "DROP TRIGGER injected")
        let resumed = try await Self.resume(db)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(try Incident.rows(db) == Incident.rows(reference))
        let again = try await Self.resume(db)
        #expect(again.status == 5)
        #expect(again.output.contains("already completed"))
    }

    @Test("kill -9 mid-run, then resume: the table is identical, row for row, to the one-shot UPDATE on a copy")
    func killNineThenResume() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 3_000, withoutObservations: 300, wal: true)
        let reference = dir.file("reference.db")
        try Incident.oneShot(copyOf: db, to: reference)
        // 150 batches with at least 100 ms between them: 15 s or more, time enough to watch for the tenth even on a
        // loaded machine (with 10 ms it once ran to the end before the watcher saw it, at a load average of 12; with
        // 50 ms once more, in a clean-clone CI run).
        let child = try ChildProcess(ChildProcess.backfill, Self.runArguments(db, ["--batch-size", "20", "--yield", "100ms"]))
        #expect(await child.send(SIGKILL, when: { try Self.batches(db) >= 10 }), "\(child.text)")
        await child.wait()
        let killed = try #require(try Backfill.status(named: Self.name, in: db.string))
        #expect(killed.status == .interrupted)
        #expect(killed.message?.contains("ended without recording a status") == true)
        let cursor = try #require(killed.cursorKey)
        #expect(cursor > 0 && cursor < 3_000)
        // The cursor agrees with the data: everything up to it done, nothing after it.
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE id <= \(cursor) AND last_seen = 0 AND id <= 2700") == 0)
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE id > \(cursor) AND last_seen NOT IN (0, 7)") == 0)

        let resumed = try await Self.resume(db)
        #expect(resumed.status == 0, "\(resumed.output)")
        let done = try #require(try Backfill.status(named: Self.name, in: db.string))
        #expect(done.status == .completed)
        #expect(done.examinedRows == 2_700)
        #expect(try Incident.rows(db) == Incident.rows(reference))
        #expect(try Incident.rows(db, "observations") == Incident.rows(reference, "observations"))
    }

    @Test("A signal finishes the batch, records interrupted, exits 130 or 143 with how to resume; resume completes",
          arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func signalInterrupts(signal: Int32, code: Int32) async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 3_000, withoutObservations: 300)
        let reference = dir.file("reference.db")
        try Incident.oneShot(copyOf: db, to: reference)
        let child = try ChildProcess(ChildProcess.backfill, Self.runArguments(db, ["--batch-size", "20", "--yield", "10ms"]))
        #expect(await child.send(signal, when: { try Self.batches(db) >= 5 }), "\(child.text)")
        let status = await child.wait()
        #expect(status == code, "\(child.text)")
        #expect(child.text.contains("durable-backfill resume --db \(db.string) --name \(Self.name)"))
        let stopped = try #require(try Backfill.status(named: Self.name, in: db.string))
        #expect(stopped.status == .interrupted)
        #expect(stopped.message?.contains("interrupted by \(StopRequest.signalName(signal))") == true)
        #expect(stopped.cursorKey! < 3_000)

        let resumed = try await Self.resume(db)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(try Incident.rows(db) == Incident.rows(reference))
    }

    @Test("Another process holding the backfill's lock: exit 4 naming it, nothing written")
    func lockHeld() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 100, withoutObservations: 0)
        let lock = FileLock(at: FilePath(Backfill.lockPath(for: Self.name, in: db.string)))
        #expect(try lock.tryAcquire())
        let run = try await ChildProcess.backfill(Self.runArguments(db))
        try lock.release()
        #expect(run.status == 4)
        #expect(run.output.contains("another process is running it: pid \(getpid())"))
        #expect(try Backfill.list(in: db.string).isEmpty)
    }

    @Test("Usage errors exit 64; list and status read what is recorded")
    func usageAndListing() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 200, withoutObservations: 20)
        let both = try await ChildProcess.backfill(Self.runArguments(db, ["--batch-size", "10", "--target-batch-time", "50ms"]))
        #expect(both.status == 64)
        let badDuration = try await ChildProcess.backfill(Self.runArguments(db, ["--yield", "soon"]))
        #expect(badDuration.status == 64)
        let run = try await ChildProcess.backfill(Self.runArguments(db))
        #expect(run.status == 0, "\(run.output)")
        let list = try await ChildProcess.backfill(["list", "--db", db.string])
        #expect(list.status == 0)
        #expect(list.output.contains("\(Self.name)\tcompleted\t100.0 %\t180 examined\t162 changed"))
        let status = try await ChildProcess.backfill(["status", "--db", db.string])
        #expect(status.output.contains("180 examined, 162 changed, 18 unchanged of 180 in scope at the start"))
        let missing = try await ChildProcess.backfill(["status", "--db", db.string, "--name", "nope"])
        #expect(missing.status == 1)
    }
}
