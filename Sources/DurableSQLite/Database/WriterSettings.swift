import GRDB

/// The settings a connection that writes must run with, set on that connection and then **read back** from it:
/// what counts is the effective setting, not the one asked for.
///
/// A dependency may override a setting: GRDB's `DatabasePool` runs `PRAGMA synchronous = NORMAL` while it sets up
/// WAL, after `prepareDatabase`; and the system SQLite's default `synchronous` depends on how it was compiled.
/// ``apply(_:to:path:operation:journalModes:)`` sets `synchronous` on the writer, then checks `synchronous` and
/// `journal_mode` as the connection reports them, and throws when either is not what the caller's promise needs.
///
/// ```swift
/// try pool.writeWithoutTransaction { db in
///     try WriterSettings.apply(.full, to: db, path: path, operation: "open the run store", journalModes: ["wal"])
/// }
/// ```
package enum WriterSettings {
    /// `PRAGMA synchronous` levels, as SQLite numbers them.
    package enum Synchronous: Int, Sendable {
        /// Syncs at WAL checkpoints only: a power cut may lose the last commits.
        case normal = 1
        /// Every commit is synced before it returns (in WAL mode: the WAL's frames).
        case full = 2
        /// FULL, and in rollback-journal mode the folder is synced after the journal is deleted at commit, so a
        /// power cut cannot bring the journal back and roll back a commit that returned.
        case extra = 3

        var name: String {
            switch self {
            case .normal: return "NORMAL"
            case .full: return "FULL"
            case .extra: return "EXTRA"
            }
        }
    }

    /// Journal modes in which a committed transaction survives a crash of the process: not `off` or `memory`.
    package static let crashSafeJournalModes: Set<String> = ["wal", "delete", "truncate", "persist"]

    /// Sets `synchronous` on `db`, then checks it and the journal mode (``require(_:on:path:operation:journalModes:)``).
    package static func apply(
        _ level: Synchronous, to db: Database, path: String, operation: String, journalModes: Set<String>
    ) throws {
        try db.execute(sql: "PRAGMA synchronous = \(level.name)")
        try require(level, on: db, path: path, operation: operation, journalModes: journalModes)
    }

    /// Throws unless `db` reports `synchronous` = `level` and a journal mode in `journalModes`.
    ///
    /// - Throws: ``DurableSQLiteError`` (`databaseUnavailable`) naming the database, the setting found and the
    ///   one needed.
    package static func require(
        _ level: Synchronous, on db: Database, path: String, operation: String,
        journalModes: Set<String> = crashSafeJournalModes
    ) throws {
        let synchronous = try Int.fetchOne(db, sql: "PRAGMA synchronous")
        guard synchronous == level.rawValue else {
            throw DurableSQLiteError(
                .databaseUnavailable, operation: operation,
                message: "\(path): the writer connection runs with synchronous=\(synchronous.map(String.init) ?? "unknown") after asking for \(level.name) (\(level.rawValue)): its commits would not be synced as promised",
                hint: "This is a bug in DurableIO or in the SQLite it runs on; nothing was written. Report it with `sqlite3 --version`.")
        }
        let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode")?.lowercased() ?? "unknown"
        guard journalModes.contains(mode) else {
            throw DurableSQLiteError(
                .databaseUnavailable, operation: operation,
                message: "\(path) is in journal_mode=\(mode), in which a commit does not survive a crash (needed: \(journalModes.sorted().joined(separator: " or ")))",
                hint: "Set a journal mode that keeps commits, e.g. `sqlite3 \(path) 'PRAGMA journal_mode = WAL'`, then run the command again; nothing was written.")
        }
    }
}
