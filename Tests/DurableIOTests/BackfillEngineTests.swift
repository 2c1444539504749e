import DurableIO
@testable import DurableSQLite
import Foundation
import GRDB
import SystemPackage
import Testing

@Suite("Backfill engine", .inATestSlot)
struct BackfillEngineTests {
    @Test("Rows the update does not change are examined once, counted unchanged, and the run terminates")
    func unchangedRowsTerminate() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 3_000, withoutObservations: 500)
        let stop = StopRequest()
        var options = BackfillOptions()
        options.batchSizing = .fixed(rows: 100)
        options.niceRatio = 0
        // 2,700 rows in scope at 100 a batch, plus the key-range-bounded tails: far fewer than 100 batches.
        let outcome = try Backfill.run(Incident.definition(), options: options, in: db.string, stop: stop) { record in
            if record.batches > 100 { stop.request(.requested("looping: \(record.batches) batches")) }
        }
        guard case .completed(let record) = outcome else {
            Issue.record("not completed: \(outcome)")
            return
        }
        #expect(record.status == .completed)
        #expect(record.totalRows == 2_700)  // every tenth row has last_seen = 7: out of scope
        #expect(record.examinedRows == 2_700)
        #expect(record.unchangedRows == 450)  // ids 2,501…3,000 without observations, less the 50 out of scope
        #expect(record.changedRows == 2_250)
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE last_seen = 0") == 450)
        let stored = try #require(try Backfill.status(named: "tx_last_seen_backfill_v1", in: db.string))
        #expect(stored == record)
    }

    @Test("Rows inserted after the start are out of scope: not processed, and the run does not go on for them")
    func rowsInsertedAfterStart() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 2_000, withoutObservations: 0)
        var options = BackfillOptions()
        options.batchSizing = .fixed(rows: 50)
        options.niceRatio = 0
        let writer = try DatabaseQueue(path: db.string, configuration: { var c = Configuration(); c.busyMode = .timeout(5); return c }())
        var next = 2_001
        let outcome = try Backfill.run(Incident.definition(), options: options, in: db.string) { record in
            // The live write path keeps adding rows the update would change, 30 per batch.
            try? writer.write { db in
                for _ in 0..<30 {
                    try db.execute(sql: "INSERT INTO transmissions (id, hash, last_seen) VALUES (?, 'new', 0)", arguments: [next])
                    try db.execute(sql: "INSERT INTO observations (transmission_id, timestamp) VALUES (?, 5)", arguments: [next])
                    next += 1
                }
            }
        }
        let record = outcome.record
        #expect(record.status == .completed)
        #expect(record.boundKey == 2_000)
        #expect(record.cursorKey == 2_000)
        #expect(record.examinedRows == 1_800)
        // 1,800 rows in scope / 50, then one empty batch over (1,999, 2,000]: the new rows add none.
        #expect(record.batches == 37)
        #expect(next > 2_500)
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE id > 2000 AND last_seen <> 0") == 0)
    }

    @Test("A batch's key range is bounded as well as its rows, so a selective predicate cannot scan far")
    func keyRangeBounded() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 5_000, withoutObservations: 0)
        var options = BackfillOptions()
        options.batchSizing = .fixed(rows: 10)
        options.niceRatio = 0
        options.maxScanFactor = 4
        var advances: [Int64] = []
        var previous: Int64?
        let outcome = try Backfill.run(Incident.definition(where: "last_seen = 0 AND id % 100 = 1"), options: options, in: db.string) { record in
            advances.append(record.cursorKey! - (previous ?? record.startKey!))
            previous = record.cursorKey
        }
        #expect(outcome.record.status == .completed)
        #expect(outcome.record.examinedRows == 50)
        #expect(outcome.record.startKey == 0)
        #expect(advances.max() == 40)  // 10 rows × factor 4 at density 1
        #expect(advances.reduce(0, +) == 5_000)
    }

    @Test("A failure in the first query is recorded as failed, never completed; resume runs it after the fix")
    func failureInFirstQuery() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 1_000, withoutObservations: 100)
        let predicate = "last_seen = 0 AND id NOT IN (SELECT id FROM skip_list)"
        let reference = dir.file("reference.db")
        let definition = Incident.definition(where: predicate)
        let error = try #require(throws: DurableSQLiteError.self) { try Backfill.run(definition, in: db.string) }
        #expect(error.code == .queryFailed)
        #expect(error.message.contains("no such table: skip_list"))
        #expect(error.hint?.contains("durable-backfill resume --db \(db.string) --name tx_last_seen_backfill_v1") == true)
        let failed = try #require(try Backfill.status(named: definition.name, in: db.string))
        #expect(failed.status == .failed)
        #expect(failed.message?.contains("no such table: skip_list") == true)
        #expect(failed.boundKey == nil)
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE last_seen NOT IN (0, 7)") == 0)

        try Incident.execute(db, "CREATE TABLE skip_list (id INTEGER PRIMARY KEY); INSERT INTO skip_list VALUES (5), (6)")
        try Incident.oneShot(copyOf: db, to: reference, where: predicate)
        let outcome = try Backfill.resume(named: definition.name, in: db.string)
        #expect(outcome.record.status == .completed)
        #expect(outcome.record.totalRows == 898)
        #expect(try Incident.rows(db) == Incident.rows(reference))
    }

    @Test("A failure in a middle batch rolls that batch back, records failed with the message, and resume finishes it")
    func failureInMiddleBatch() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 2_000, withoutObservations: 200)
        let reference = dir.file("reference.db")
        try Incident.oneShot(copyOf: db, to: reference)
        try Incident.execute(db, """
            CREATE TRIGGER injected BEFORE UPDATE OF last_seen ON transmissions WHEN NEW.id = 1234
            BEGIN SELECT RAISE(ABORT, 'injected failure at 1234'); END
            """)
        var options = BackfillOptions()
        options.batchSizing = .fixed(rows: 100)
        options.niceRatio = 0
        let error = try #require(throws: DurableSQLiteError.self) { try Backfill.run(Incident.definition(), options: options, in: db.string) }
        #expect(error.code == .queryFailed)
        #expect(error.message.contains("injected failure at 1234"))
        let failed = try #require(try Backfill.status(named: Incident.definition().name, in: db.string))
        #expect(failed.status == .failed)
        #expect(failed.message?.contains("injected failure at 1234") == true)
        let cursor = try #require(failed.cursorKey)
        #expect(cursor > 1_000 && cursor < 1_234)
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE id > \(cursor) AND last_seen NOT IN (0, 7)") == 0)
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE id <= \(cursor) AND last_seen = 0") == 0)
        #expect(failed.examinedRows == (try Incident.int(db, "SELECT count(*) FROM transmissions WHERE id <= \(cursor) AND id % 10 <> 0")))

        try Incident.execute(db, "DROP TRIGGER injected")
        let outcome = try Backfill.resume(named: failed.definition.name, in: db.string)
        #expect(outcome.record.status == .completed)
        #expect(outcome.record.boundKey == failed.boundKey)
        #expect(outcome.record.examinedRows == 1_800)
        #expect(try Incident.rows(db) == Incident.rows(reference))
        #expect(try Incident.rows(db, "observations") == Incident.rows(reference, "observations"))
    }

    @Test("Resuming a completed backfill does nothing and says so; starting it again too")
    func resumeCompleted() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 300, withoutObservations: 0)
        let first = try Backfill.run(Incident.definition(), in: db.string)
        #expect(first.record.status == .completed)
        try Incident.execute(db, "UPDATE transmissions SET last_seen = 0 WHERE id = 3")
        guard case .alreadyCompleted(let record) = try Backfill.resume(named: "tx_last_seen_backfill_v1", in: db.string) else {
            Issue.record("resume of a completed backfill did something")
            return
        }
        #expect(record == first.record)
        #expect(try Incident.int(db, "SELECT last_seen FROM transmissions WHERE id = 3") == 0)
        guard case .alreadyCompleted = try Backfill.run(Incident.definition(), in: db.string) else {
            Issue.record("run of a completed backfill did something")
            return
        }
    }

    @Test("A stop request finishes the current batch and records interrupted; resume completes it")
    func stopRequest() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 1_000, withoutObservations: 100)
        let reference = dir.file("reference.db")
        try Incident.oneShot(copyOf: db, to: reference)
        var options = BackfillOptions()
        options.batchSizing = .fixed(rows: 50)
        let stop = StopRequest()
        let outcome = try Backfill.run(Incident.definition(), options: options, in: db.string, stop: stop) { record in
            if record.batches == 3 { stop.request(.signal(SIGINT)) }
        }
        guard case .interrupted(let record, let reason) = outcome else {
            Issue.record("not interrupted: \(outcome)")
            return
        }
        #expect(reason == .signal(SIGINT))
        #expect(record.batches == 3)
        #expect(record.examinedRows == 150)
        #expect(record.message?.contains("interrupted by SIGINT") == true)
        #expect(try Backfill.status(named: record.definition.name, in: db.string)?.status == .interrupted)
        #expect(try Backfill.resume(named: record.definition.name, in: db.string).record.status == .completed)
        #expect(try Incident.rows(db) == Incident.rows(reference))
    }

    @Test("A record left 'running' by a dead process reads as interrupted; one whose process holds the lock as running")
    func deadProcessIsInterrupted() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 100, withoutObservations: 0)
        try Incident.execute(db, BackfillTable.createSQL)
        let queue = try DatabaseQueue(path: db.string)
        var record = BackfillRecord(definition: Incident.definition(), options: BackfillOptions(), now: BackfillTable.now())
        record.pid = 999_999
        try queue.write { try BackfillTable.save(record, $0) }
        let read = try #require(try Backfill.status(named: record.definition.name, in: db.string))
        #expect(read.status == .interrupted)
        #expect(read.message?.contains("pid 999999") == true)
        let lock = FileLock(at: FilePath(Backfill.lockPath(for: record.definition.name, in: db.string)))
        #expect(try lock.tryAcquire())
        defer { try? lock.release() }
        #expect(try Backfill.status(named: record.definition.name, in: db.string)?.status == .running)
        let error = try #require(throws: DurableIOError.self) { try Backfill.resume(named: record.definition.name, in: db.string) }
        #expect(error.code == .lockHeld)
    }

    @Test("In WAL mode the WAL is truncated between batches once past the threshold, and its size is recorded")
    func walCheckpoint() throws {
        func walSizes(threshold: Int) throws -> (seen: [Int], peak: Int) {
            let dir = TemporaryDirectory()
            let db = dir.file("app.db")
            try Incident.make(db, transmissions: 2_000, withoutObservations: 0, wal: true)
            var options = BackfillOptions()
            options.batchSizing = .fixed(rows: 100)
            options.niceRatio = 0
            options.checkpointThreshold = threshold
            var seen: [Int] = []
            // Another connection stays open, so closing the backfill's connection does not checkpoint for it.
            let other = try DatabaseQueue(path: db.string)
            let outcome = try Backfill.run(Incident.definition(), options: options, in: db.string) { record in
                seen.append(record.walBytes ?? -1)  // the size after the previous batch's checkpoint
            }
            _ = other
            #expect(outcome.record.status == .completed)
            return (seen, outcome.record.walPeakBytes ?? 0)
        }
        let truncated = try walSizes(threshold: 1)
        let untouched = try walSizes(threshold: 64 << 20)
        #expect(truncated.seen.dropFirst().allSatisfy { $0 == 0 }, "\(truncated.seen)")
        #expect(truncated.peak > 0)
        #expect(untouched.seen.last! > 100_000, "\(untouched.seen)")
        #expect(untouched.peak >= untouched.seen.last!)
    }

    @Test("Batch sizing toward a target time grows at most twice per batch and shrinks at once when a batch runs long")
    func batchSizer() {
        var options = BackfillOptions()
        options.batchSizing = .targetTime(.milliseconds(50))
        options.initialBatchSize = 100
        var sizer = BatchSizer(options)
        #expect(sizer.size == 100)
        sizer.record(rows: 100, seconds: 0.001)  // 100,000 rows/s: 5,000 would fit; capped at 200
        #expect(sizer.size == 200)
        sizer.record(rows: 200, seconds: 0.002)
        #expect(sizer.size == 400)
        sizer.record(rows: 400, seconds: 0.4)  // ran 8× long: at once to 50 rows
        #expect(sizer.size == 50)
        sizer.record(rows: 50, seconds: 0.05)  // on target: stays
        #expect(sizer.size == 50)
        var fixed = BatchSizer({ var o = BackfillOptions(); o.batchSizing = .fixed(rows: 7); return o }())
        fixed.record(rows: 7, seconds: 10)
        #expect(fixed.size == 7)
    }

    @Test("Definitions that cannot run are refused before anything is written")
    func invalidDefinition() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 10, withoutObservations: 0)
        var bad = Incident.definition("../etc")
        #expect(throws: DurableSQLiteError.self) { try Backfill.run(bad, in: db.string) }
        bad = Incident.definition()
        bad.setClause = " "
        #expect(throws: DurableSQLiteError.self) { try Backfill.run(bad, in: db.string) }
        let missing = try #require(throws: DurableSQLiteError.self) { try Backfill.run(Incident.definition(), in: dir.file("typo.db").string) }
        #expect(missing.code == .databaseUnavailable)
        #expect(!FileManager.default.fileExists(atPath: dir.file("typo.db").string))
        #expect(try Backfill.list(in: db.string).isEmpty)
    }

    @Test("A key column without an index is refused (recorded failed): each batch would scan the table")
    func unindexedKeyRefused() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 50, withoutObservations: 0)
        try Incident.execute(db, "ALTER TABLE transmissions ADD COLUMN seq INTEGER; UPDATE transmissions SET seq = id")
        var definition = Incident.definition()
        definition.keyColumn = "seq"
        let error = try #require(throws: DurableSQLiteError.self) { try Backfill.run(definition, in: db.string) }
        #expect(error.message.contains("column seq of transmissions is neither the rowid nor the first column of an index"))
        #expect(try Backfill.status(named: definition.name, in: db.string)?.status == .failed)
        try Incident.execute(db, "CREATE INDEX transmissions_seq ON transmissions(seq)")
        #expect(try Backfill.resume(named: definition.name, in: db.string).record.status == .completed)
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE last_seen = 0") == 0)
    }
}
