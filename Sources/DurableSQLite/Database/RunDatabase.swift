import Foundation
import GRDB

/// Opens the SQLite database of a run store the way DurableIO needs it: WAL mode, `synchronous=FULL`, a busy
/// timeout, and the schema migrated to the latest version.
///
/// With `synchronous=FULL` in WAL mode SQLite syncs the write-ahead log at every commit: when a commit returns,
/// the batch it holds survives a power cut. ``Synchronous/normal`` syncs only at checkpoints — faster, but the last
/// commits before a power cut (not a process crash) may be lost; choose it explicitly, knowing that.
///
/// ```swift
/// let pool = try RunDatabase.open(at: "runs.sqlite")          // created when missing
/// let version = try pool.read { try RunSchema.appliedVersions($0) }
/// ```
public enum RunDatabase {
    /// How hard SQLite syncs a commit.
    public enum Synchronous: String, Sendable {
        /// Every commit is on disk when it returns (the default).
        case full = "FULL"
        /// Commits are synced at WAL checkpoints only: a power cut may lose the last ones (a crash of the
        /// process does not).
        case normal = "NORMAL"
    }

    /// Opens (or creates) the database at `path` and migrates it to the latest schema.
    ///
    /// - Parameters:
    ///   - path: the SQLite file; created when missing (with its `-wal` and `-shm` files beside it).
    ///   - synchronous: ``Synchronous/full`` unless you accept losing the last commits on a power cut.
    ///   - busyTimeout: how long a statement waits for another connection's lock before failing.
    /// - Returns: a `DatabasePool` (one writer, concurrent readers).
    /// - Throws: GRDB's `DatabaseError` when the file is not a database; ``DurableSQLiteError`` (`schema`) when
    ///   the file was written by a newer version of this program.
    public static func open(
        at path: String, synchronous: Synchronous = .full, busyTimeout: TimeInterval = 10
    ) throws -> DatabasePool {
        let pool = try openUnmigrated(at: path, synchronous: synchronous, busyTimeout: busyTimeout)
        try RunSchema.migrate(pool)
        return pool
    }

    /// Opens the database without migrating it (for tests of the migrations and for inspection).
    public static func openUnmigrated(
        at path: String, synchronous: Synchronous = .full, busyTimeout: TimeInterval = 10
    ) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.label = "DurableSQLite"
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        let mode = synchronous.rawValue
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(mode)")
        }
        return try DatabasePool(path: path, configuration: configuration)  // a pool always uses WAL
    }
}
