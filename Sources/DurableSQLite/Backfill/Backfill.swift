import DurableIO
import Foundation
import GRDB
import SystemPackage

/// Runs an `UPDATE` over a live SQLite database in short keyset batches that never starve readers or the
/// application's writer, always terminate, survive `kill -9`, and record the truth about their status.
///
/// - At the start the largest key (the *bound*) and the number of rows in scope are recorded; rows inserted later
///   are out of scope — the application's own write path owns them.
/// - Each batch is one short `BEGIN IMMEDIATE` transaction over keys above the cursor, bounded in rows and in key
///   range; it writes its progress (cursor, rows examined and changed, rate, ETA) to `_durable_backfills` in the
///   same transaction. The cursor passes every examined row whether or not the update changed it.
/// - Between batches it pauses (nice ratio × the batch's time, plus a fixed delay) and, in WAL mode, checkpoints
///   the WAL when it passes a threshold.
/// - One process per backfill: a `FileLock` beside the database (``lockPath(for:in:)``). A record that says
///   `running` while nobody holds the lock is reported `interrupted`.
///
/// The functions block the calling thread (they run SQLite queries and sleep between batches): call them from a
/// thread of your own, not from the cooperative pool.
///
/// ```swift
/// let stop = StopRequest()
/// let outcome = try Backfill.run(definition, in: "app.db", stop: stop) { record in
///     print(record.fraction ?? 0)
/// }
/// // After a crash, a failure or a stop:
/// try Backfill.resume(named: definition.name, in: "app.db")
/// ```
public enum Backfill {
    /// Starts a new backfill and runs it to the end, a stop, or a failure.
    ///
    /// A backfill of the same name already recorded is never silently reused: with the same definition it is
    /// `.alreadyCompleted` (or refused as `backfillExists` when it is not completed: resume it); with another
    /// definition it is refused (`definitionChanged`) with the difference shown. `replace` replaces the record of
    /// one that changed no row (no batch committed, e.g. it failed on a typo in `--set`), and is refused otherwise.
    ///
    /// - Parameters:
    ///   - definition: what to update. Its `SET` clause must not assign the key column (nor, for a rowid key, any
    ///     alias of the rowid): that is refused before anything is recorded.
    ///   - options: how to pace it (recorded, so a resume paces itself the same way).
    ///   - database: the SQLite file.
    ///   - replace: replace the record of a backfill of this name that changed no row.
    ///   - stop: checked between batches: the current batch finishes, the record says `interrupted`.
    ///   - progress: called after each committed batch with the recorded state.
    ///   - limits: the memory limit and disk reserve, checked before every batch: passed, the backfill is recorded
    ///     `interrupted` and the guardrail's `DurableIOError` thrown (exit 6 in the CLI). A stall timeout is not
    ///     used: each batch is bounded by the busy timeout.
    /// - Returns: `.completed`, `.interrupted`, or `.alreadyCompleted` when a backfill of this name and definition
    ///   completed before. It returns only once the connection is closed: every sync has succeeded.
    /// - Throws: ``DurableSQLiteError`` (`backfillExists`, `definitionChanged`, `invalidDefinition`; `queryFailed`
    ///   after recording `failed`; `ioFailed` when the last sync or the close failed), or `DurableIOError.lockHeld`
    ///   when another process runs it.
    @discardableResult
    public static func run(
        _ definition: BackfillDefinition, options: BackfillOptions = BackfillOptions(), in database: String,
        replace: Bool = false, stop: StopRequest = StopRequest(), limits: GuardrailLimits = .none,
        progress: (BackfillRecord) -> Void = { _ in }
    ) throws -> BackfillOutcome {
        try definition.validate(database: database)
        try options.validate(backfill: definition.name, database: database)
        let queue = try BackfillConnection.open(database, busyTimeout: options.busyTimeout, backfill: definition.name)
        return try closing(queue, database, definition.name) {
            let lock = try acquireLock(definition.name, database)
            defer { try? lock.release() }
            let existing = try step("read the progress table", definition.name, database) {
                try queue.inDatabase { try BackfillTable.load(definition.name, $0) }
            }
            if let existing, let outcome = try admit(definition, over: existing, replace: replace, database: database) {
                return outcome
            }
            try queue.inDatabase { try definition.refuseKeyAssignment($0, database: database, whenCompiled: true) }
            let record = BackfillRecord(definition: definition, options: options, now: BackfillTable.now())
            try step("record the start in \(BackfillTable.name)", definition.name, database) {
                try queue.inDatabase { db in
                    try db.inTransaction(.immediate) {
                        try BackfillTable.create(db)
                        try BackfillTable.save(record, db)
                        return .commit
                    }
                }
            }
            var engine = BackfillEngine(queue: queue, database: database, record: record, stop: stop, limits: limits)
            return try engine.run(progress: progress)
        }
    }

    /// Continues a backfill from its recorded cursor, with its recorded bound and options.
    ///
    /// Order: the status guard (completed → nothing to do), then the lock, then the status again (it may have
    /// changed while another process held it).
    ///
    /// - Returns: `.alreadyCompleted` without touching anything when it had completed; it returns only once the
    ///   connection is closed.
    /// - Throws: ``DurableSQLiteError`` (`notFound`, `queryFailed` after recording `failed`, `ioFailed`), or
    ///   `DurableIOError.lockHeld` when another process runs it.
    @discardableResult
    public static func resume(
        named name: String, in database: String, stop: StopRequest = StopRequest(), limits: GuardrailLimits = .none,
        progress: (BackfillRecord) -> Void = { _ in }
    ) throws -> BackfillOutcome {
        let queue = try BackfillConnection.open(database, busyTimeout: .seconds(5), backfill: name)
        return try closing(queue, database, name) {
            func load() throws -> BackfillRecord {
                let record = try step("read the progress table", name, database) {
                    try queue.inDatabase { try BackfillTable.load(name, $0) }
                }
                guard let record else {
                    let known = (try? queue.inDatabase { try BackfillTable.loadAll($0) })?.map(\.definition.name) ?? []
                    throw DurableSQLiteError.backfill(
                        .backfillNotFound, operation: "resume", backfill: name, database: database,
                        message: "no backfill of this name is recorded",
                        hint: known.isEmpty ? "Start it with: durable-backfill run --db \(ShellWord.quoted(database)) --name \(ShellWord.quoted(name)) …"
                            : "Recorded backfills: \(known.joined(separator: ", ")).")
                }
                return record
            }
            let recorded = try load()
            if recorded.status == .completed { return .alreadyCompleted(recorded) }
            let lock = try acquireLock(name, database)
            defer { try? lock.release() }
            var record = try load()
            if record.status == .completed { return .alreadyCompleted(record) }
            record.status = .running
            record.message = nil
            record.finishedAt = nil
            record.pid = ProcessInfo.processInfo.processIdentifier
            record.host = BackfillTable.host
            record.updatedAt = BackfillTable.now()
            let running = record
            try step("record the resume in \(BackfillTable.name)", name, database) {
                try queue.inDatabase { db in try db.inTransaction(.immediate) { try BackfillTable.save(running, db); return .commit } }
            }
            var engine = BackfillEngine(queue: queue, database: database, record: record, stop: stop, limits: limits)
            return try engine.run(progress: progress)
        }
    }

    /// The recorded state of one backfill, `nil` when none of that name is recorded. A record that says `running`
    /// while no process holds its lock is returned as `interrupted`, with a message saying so.
    ///
    /// Read-only: a database that does not exist is "no such database" (nothing is created), and one a crash left
    /// with a hot rollback journal is `needsRecovery`, naming the command that recovers it.
    public static func status(named name: String, in database: String) throws -> BackfillRecord? {
        let queue = try BackfillConnection.open(database, busyTimeout: .seconds(5), readonly: true, backfill: name)
        let record = try closing(queue, database, name) {
            try step("read the progress table", name, database) {
                try queue.inDatabase { try BackfillTable.load(name, $0) }
            }
        }
        return record.map { corrected($0, database) }
    }

    /// Every backfill recorded in the database, by name, with statuses corrected as in ``status(named:in:)``.
    public static func list(in database: String) throws -> [BackfillRecord] {
        let queue = try BackfillConnection.open(database, busyTimeout: .seconds(5), readonly: true, backfill: nil)
        let records = try closing(queue, database, nil) {
            try step("read the progress table", nil, database) {
                try queue.inDatabase { try BackfillTable.loadAll($0) }
            }
        }
        return records.map { corrected($0, database) }
    }

    /// Runs `body`, then closes the connection, checking the close (``BackfillConnection/close(_:path:backfill:)``);
    /// when `body` throws, the connection is closed and `body`'s error is thrown.
    private static func closing<T>(_ queue: DatabaseQueue, _ database: String, _ name: String?, _ body: () throws -> T) throws -> T {
        let result: T
        do {
            result = try body()
        } catch {
            try? queue.close()
            throw error
        }
        try BackfillConnection.close(queue, path: database, backfill: name)
        return result
    }

    /// The lock file of backfill `name` on `database`: `<database>.backfill-<name>.lock`, beside the database.
    public static func lockPath(for name: String, in database: String) -> String { "\(database).backfill-\(name).lock" }

    private static func corrected(_ record: BackfillRecord, _ database: String) -> BackfillRecord {
        guard record.status == .running else { return record }
        guard FileLock.holder(of: FilePath(lockPath(for: record.definition.name, in: database))) == nil else { return record }
        var record = record
        record.status = .interrupted
        let who = record.pid.map { "pid \($0)\(record.host.map { " on \($0)" } ?? "")" } ?? "its process"
        record.message = "\(who) ended without recording a status (killed, crashed, or the machine stopped); resume continues after key \(record.cursorKey ?? record.startKey ?? 0)"
        return record
    }

    private static func acquireLock(_ name: String, _ database: String) throws -> FileLock {
        let lock = FileLock(at: FilePath(lockPath(for: name, in: database)))
        guard try lock.tryAcquire() else {
            throw DurableIOError(
                .lockHeld, operation: "start backfill '\(name)'", path: lock.path,
                message: "another process is running it: \(lock.currentHolder().map(String.init(describing:)) ?? "holder unknown")",
                hint: "Wait for it to finish, or stop it (SIGINT or SIGTERM) and resume it later.")
        }
        return lock
    }

    /// Runs `body`, turning a database error into a ``DurableSQLiteError`` naming the step.
    static func step<T>(_ operation: String, _ name: String?, _ database: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DurableSQLiteError {
            throw error
        } catch {
            throw BackfillConnection.described(
                error, operation, backfill: name, database: database,
                hint: "Nothing was changed by this step. Check the database, then run the command again.")
        }
    }
}
