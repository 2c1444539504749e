import DurableIO
import Foundation
import GRDB

/// Opens the user's database for a backfill: the file must exist (a typo must not create an empty database), the
/// journal mode is left as it is (the application chose it), and every query waits for locks up to the busy
/// timeout instead of failing at once.
///
/// A connection that writes sets `synchronous = EXTRA` itself — it does not rely on how the system SQLite was
/// compiled — and reads it and the journal mode back (``WriterSettings``): every batch is synced when it commits,
/// and in rollback-journal mode the journal's removal is synced too, so a power cut cannot roll a committed batch
/// back. ``close(_:path:backfill:)`` checkpoints a WAL database and closes the connection, checking both.
///
/// Foreign keys are enforced (GRDB's default): a backfill never writes a row that breaks one.
///
/// ```swift
/// let queue = try BackfillConnection.open("app.db", busyTimeout: .seconds(5), backfill: "tx_v1")
/// // … batches …
/// try BackfillConnection.close(queue, path: "app.db", backfill: "tx_v1")   // before reporting success
/// ```
enum BackfillConnection {
    static func open(_ path: String, busyTimeout: Duration, readonly: Bool = false, backfill: String?) throws(DurableSQLiteError) -> DatabaseQueue {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DurableSQLiteError.backfill(
                .databaseUnavailable, operation: "open the database", backfill: backfill, database: path,
                message: "no such database: \(path)",
                hint: "Pass the path of the existing SQLite database the backfill runs on (durable-backfill never creates one).")
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout.seconds)
        configuration.readonly = readonly
        configuration.label = "durable-backfill"
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw described(error, "open the database", backfill: backfill, database: path,
                            hint: "Check that the file is an SQLite database this user can read and write.")
        }
        guard !readonly else { return queue }
        do {
            try queue.inDatabase { db in
                try WriterSettings.apply(
                    .extra, to: db, path: path, operation: "check the connection's settings",
                    journalModes: WriterSettings.crashSafeJournalModes)
            }
        } catch {
            try? queue.close()
            throw described(error, "check the connection's settings", backfill: backfill, database: path, hint: nil)
        }
        return queue
    }

    /// Checkpoints the WAL (PASSIVE: what no reader still needs) and closes the connection, checking both: a sync
    /// that failed here is an error, reported before any success.
    static func close(_ queue: DatabaseQueue, path: String, backfill: String?) throws(DurableSQLiteError) {
        do {
            if !queue.configuration.readonly {
                try queue.inDatabase { db in
                    if try isWAL(db) { _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
                }
            }
            try queue.close()
        } catch {
            throw described(
                error, "close the database", backfill: backfill, database: path,
                hint: "Every batch was synced when it committed; `durable-backfill status --db \(ShellWord.quoted(path))` shows what is recorded.")
        }
    }

    /// `error` as a ``DurableSQLiteError`` whose operation names the backfill and the database, and whose message
    /// says what the SQLite code means (``DurableSQLiteError/database(_:operation:path:hint:)``).
    static func described(_ error: any Error, _ operation: String, backfill: String?, database: String, hint: String?) -> DurableSQLiteError {
        if let error = error as? DurableSQLiteError { return error }
        let resume = "durable-backfill resume --db \(ShellWord.quoted(database)) --name \(ShellWord.quoted(backfill ?? BackfillConnection.recordedNames(database).first ?? "NAME"))"
        let recovery = "Run `\(resume)` (or open the database with any program that writes to it): that rolls the interrupted transaction back; then ask for the status again."
        let mapped = DurableSQLiteError.database(error, operation: operation, path: database, hint: recovery)
        guard let mapped = mapped as? DurableSQLiteError else {
            return DurableSQLiteError.backfill(.databaseUnavailable, operation: operation, backfill: backfill, database: database, message: "\(error)", hint: hint)
        }
        return DurableSQLiteError.backfill(
            mapped.code, operation: operation, backfill: backfill, database: database, message: mapped.message,
            hint: mapped.hint ?? hint)
    }

    /// The names of the backfills that ran on `database`, from their lock files beside it (which are never
    /// removed): what a hint can name when the database itself cannot be read.
    static func recordedNames(_ database: String) -> [String] {
        let url = URL(fileURLWithPath: database)
        let prefix = url.lastPathComponent + ".backfill-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".lock") }
            .map { String($0.dropFirst(prefix.count).dropLast(".lock".count)) }.sorted()
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
