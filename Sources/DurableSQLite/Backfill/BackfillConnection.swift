import DurableIO
import Foundation
import GRDB

/// Opens the user's database for a backfill: the file must exist (a typo must not create an empty database), the
/// journal mode is left as it is (the application chose it), and every query waits for locks up to the busy
/// timeout instead of failing at once.
///
/// Foreign keys are enforced (GRDB's default): a backfill never writes a row that breaks one.
enum BackfillConnection {
    static func open(_ path: String, busyTimeout: Duration, readonly: Bool = false, backfill: String?) throws(DurableSQLiteError) -> DatabaseQueue {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DurableSQLiteError.backfill(
                .databaseUnavailable, operation: "open the database", backfill: backfill, database: path,
                message: "no such file", hint: "Pass the path of the existing SQLite database the backfill runs on.")
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout.seconds)
        configuration.readonly = readonly
        configuration.label = "durable-backfill"
        do {
            return try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw DurableSQLiteError.backfill(
                .databaseUnavailable, operation: "open the database", backfill: backfill, database: path,
                message: "\(error)", hint: "Check that the file is an SQLite database this user can read and write.")
        }
    }

    /// Whether the database is in WAL mode.
    static func isWAL(_ db: Database) throws -> Bool {
        try String.fetchOne(db, sql: "PRAGMA journal_mode")?.lowercased() == "wal"
    }

    /// The size of the WAL file beside `path`, 0 when there is none.
    static func walSize(of path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// `PRAGMA wal_checkpoint(TRUNCATE)` waiting at most `busyTimeout` for readers, then the normal busy timeout
    /// again. Returns whether it completed (`false`: readers kept it busy; the next batch tries again).
    static func checkpoint(_ db: Database, busyTimeout: Duration, normalTimeout: Duration) throws -> Bool {
        try db.execute(sql: "PRAGMA busy_timeout = \(Int(busyTimeout.seconds * 1000))")
        defer { try? db.execute(sql: "PRAGMA busy_timeout = \(Int(normalTimeout.seconds * 1000))") }
        let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        let busy: Int = row?[0] ?? 1
        return busy == 0
    }
}
