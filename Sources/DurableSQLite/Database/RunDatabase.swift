import Foundation
import GRDB

/// Opens the SQLite database of a run store the way DurableIO needs it: WAL mode, `synchronous=FULL` on the writer
/// connection (set after GRDB's WAL set-up, and read back), a busy timeout, and the schema migrated to the latest
/// version under the writer's lock.
///
/// With `synchronous=FULL` in WAL mode SQLite syncs the write-ahead log at every commit: when a commit returns,
/// the batch it holds survives a power cut. ``Synchronous/normal`` syncs only at checkpoints — faster, but the last
/// commits before a power cut (not a process crash) may be lost; choose it explicitly, knowing that.
///
/// Users open it through `SQLiteRunStore(path:synchronous:)`, choosing ``Synchronous``; opening the pool itself
/// (`open`, `openUnmigrated`, which hand out GRDB's `DatabasePool`) is `package`, for the store and the tests.
///
/// ```swift
/// let store = try SQLiteRunStore(path: "runs.sqlite", synchronous: .full)   // created when missing
/// try store.close()                                                          // a failed close throws: check it
/// ```
public enum RunDatabase {
    /// How hard SQLite syncs a commit.
    public enum Synchronous: String, Sendable {
        /// Every commit is on disk when it returns (the default).
        case full = "FULL"
        /// Commits are synced at WAL checkpoints only: a power cut may lose the last ones (a crash of the
        /// process does not).
        case normal = "NORMAL"

        var level: WriterSettings.Synchronous { self == .full ? .full : .normal }
    }

    /// Opens (or creates) the database at `path` and migrates it to the latest schema.
    ///
    /// - Parameters:
    ///   - path: the SQLite file; created when missing (with its `-wal` and `-shm` files beside it).
    ///   - synchronous: ``Synchronous/full`` unless you accept losing the last commits on a power cut.
    ///   - busyTimeout: how long a statement waits for another connection's lock before failing.
    /// - Returns: a `DatabasePool` (one writer, concurrent readers) whose writer runs with `synchronous` as asked.
    /// - Throws: ``DurableSQLiteError`` naming the file: `databaseUnavailable` when it cannot be opened or is not a
    ///   database, `schema` when it was written by a newer version of this program.
    package static func open(
        at path: String, synchronous: Synchronous = .full, busyTimeout: TimeInterval = 10
    ) throws -> DatabasePool {
        let pool = try openUnmigrated(at: path, synchronous: synchronous, busyTimeout: busyTimeout)
        do {
            try RunSchema.migrate(pool)
        } catch {
            try? pool.close()
            throw DurableSQLiteError.database(error, operation: "set up the run store schema", path: path)
        }
        return pool
    }

    /// Opens the database without migrating it (for tests of the migrations and for inspection); the writer's
    /// `synchronous` and `journal_mode` are set and checked as in ``open(at:synchronous:busyTimeout:)``.
    package static func openUnmigrated(
        at path: String, synchronous: Synchronous = .full, busyTimeout: TimeInterval = 10
    ) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.label = "DurableSQLite"
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        let mode = synchronous.rawValue
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(mode)")  // every connection; the writer's is set again below
        }
        let operation = "open the run store"
        do {
            // A pool always uses WAL. GRDB's WAL set-up has just run `PRAGMA synchronous = NORMAL` on the writer:
            // set ours after it.
            return try checked(DatabasePool(path: path, configuration: configuration)) { pool in
                try pool.writeWithoutTransaction { db in
                    try WriterSettings.apply(synchronous.level, to: db, path: path, operation: operation, journalModes: ["wal"])
                }
            }
        } catch {
            throw DurableSQLiteError.database(error, operation: operation, path: path)
        }
    }

    /// Opens an existing database for reading only: nothing is created when it does not exist (an existing WAL
    /// database may get its `-wal` and `-shm` files: SQLite needs them for readers), and nothing is migrated.
    ///
    /// - Throws: ``DurableSQLiteError`` `databaseUnavailable`: "no such database", a file that is not a database,
    ///   or one whose schema is not set up yet; `schema` for a schema older or newer than this program's.
    package static func openForReading(at path: String, busyTimeout: TimeInterval = 10) throws -> DatabasePool {
        let operation = "read the run store"
        guard FileManager.default.fileExists(atPath: path) else {
            throw DurableSQLiteError.noSuchDatabase(
                path, operation: operation,
                hint: "Check --db: `status` and `list` read an existing database and create none; `ingest` or `start` creates it.")
        }
        var configuration = Configuration()
        configuration.label = "DurableSQLite (read-only)"
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeout)
        do {
            return try checked(DatabasePool(path: path, configuration: configuration)) { pool in
                try pool.read { db in try RunSchema.requireReadable(db, path: path) }
            }
        } catch {
            throw DurableSQLiteError.database(error, operation: operation, path: path)
        }
    }

    /// `pool` once `check` passed on it; closed (and `check`'s error thrown) when it did not.
    private static func checked(_ pool: DatabasePool, _ check: (DatabasePool) throws -> Void) throws -> DatabasePool {
        do {
            try check(pool)
        } catch {
            try? pool.close()
            throw error
        }
        return pool
    }
}
