@testable import DurableSQLite
import Foundation
import GRDB
import Testing

/// What a commit promises, checked on the connection that commits: the effective `synchronous` and `journal_mode`
/// of the writer, not the setting that was asked for (a dependency may override it: GRDB's `DatabasePool` runs
/// `PRAGMA synchronous = NORMAL` while it sets up WAL).
@Suite("SQLite writers: the effective synchronous and journal mode", .inATestSlot)
struct RunStoreDurabilityTests {
    /// `PRAGMA synchronous` and `PRAGMA journal_mode` as the connection that writes sees them.
    static func writerSettings(_ pool: DatabasePool) throws -> (synchronous: Int?, journalMode: String?) {
        try pool.writeWithoutTransaction { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous"), try String.fetchOne(db, sql: "PRAGMA journal_mode"))
        }
    }

    @Test("the run store's writer connection (the one durable-resume commits and ingests on) runs synchronous=FULL in WAL mode")
    func runStoreWriterIsFull() throws {
        let dir = TemporaryDirectory()
        let store = try SQLiteRunStore(path: dir.file("runs.sqlite").string)
        let settings = try Self.writerSettings(store.pool)
        #expect(settings.synchronous == 2, "2 is FULL: every commit syncs the WAL before it returns")
        #expect(settings.journalMode == "wal")
        try store.pool.close()

        // Opening an existing store again gives the same.
        let again = try SQLiteRunStore(path: dir.file("runs.sqlite").string)
        #expect(try Self.writerSettings(again.pool).synchronous == 2)
        try again.pool.close()

        // NORMAL only when asked for, and then on the writer too.
        let normal = try SQLiteRunStore(path: dir.file("normal.sqlite").string, synchronous: .normal)
        #expect(try Self.writerSettings(normal.pool).synchronous == 1)
        try normal.pool.close()
    }

    @Test("RunDatabase.open's writer connection runs synchronous=FULL", arguments: [false, true])
    func runDatabaseWriterIsFull(unmigrated: Bool) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("runs.sqlite").string
        let pool = unmigrated ? try RunDatabase.openUnmigrated(at: path) : try RunDatabase.open(at: path)
        #expect(try Self.writerSettings(pool).synchronous == 2)
        try pool.close()
    }

    @Test("durable-backfill's writing connection sets synchronous itself (EXTRA), whatever the journal mode",
          arguments: ["delete", "wal", "truncate"])
    func backfillWriterSetsSynchronous(journalMode: String) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("app.db")
        try Incident.make(path, transmissions: 10, withoutObservations: 0, wal: journalMode == "wal")
        let queue = try BackfillConnection.open(path.string, busyTimeout: .seconds(5), backfill: "b")
        if journalMode == "truncate" {
            try queue.writeWithoutTransaction { _ = try String.fetchOne($0, sql: "PRAGMA journal_mode = TRUNCATE") }
        }
        let synchronous = try queue.inDatabase { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        #expect(synchronous == 3, "3 is EXTRA: FULL, and in rollback-journal mode the journal's removal is synced too")
        try queue.close()
    }
}
