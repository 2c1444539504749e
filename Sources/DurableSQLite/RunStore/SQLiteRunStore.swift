import DurableIO
import DurableRunStore
import Foundation
import GRDB
import Synchronization
import SystemPackage

/// The embedded run store: one SQLite file through GRDB (WAL, `synchronous=FULL` on the writer connection,
/// migrated on open under the writer's lock), and a `FileLock` per run beside it (`<database>.run-<id>.lock`) so
/// one process works on a run at a time.
///
/// Every commit (ingest, a batch of results, finalize) is synced before it returns. ``close()`` checkpoints the WAL
/// into the database file and closes the connections, and throws when a sync or the close fails: report success
/// only after it returned. Every error names the database file.
///
/// Thread-safe: GRDB's `DatabasePool` serialises writes and runs reads concurrently; blocking SQLite work runs on
/// GRDB's own queues, not on the cooperative pool.
///
/// ```swift
/// let store = try SQLiteRunStore(path: "runs.sqlite")
/// for run in try await store.runs() { print(run.id, store.state(of: run)) }
/// try store.close()
///
/// let reader = try SQLiteRunStore(readingExisting: "runs.sqlite")   // creates nothing, migrates nothing
/// ```
public final class SQLiteRunStore: LockedRunStore {
    /// The database file.
    public let path: String
    /// The GRDB pool (for inspection and for users' own queries; write through the store).
    public let pool: DatabasePool
    /// Whether the store was opened with ``init(readingExisting:)``: every write fails.
    public let isReadOnly: Bool
    private let closed = Mutex(false)

    /// Opens (or creates) the store at `path`.
    ///
    /// - Parameters:
    ///   - path: the SQLite file.
    ///   - synchronous: ``RunDatabase/Synchronous/full`` (the default): a commit that returned is on disk.
    /// - Throws: ``DurableSQLiteError`` naming the file: `schema` for a database written by a newer program,
    ///   `databaseUnavailable` when it cannot be opened or is not a database.
    public init(path: String, synchronous: RunDatabase.Synchronous = .full) throws {
        self.path = path
        self.pool = try RunDatabase.open(at: path, synchronous: synchronous)
        self.isReadOnly = false
    }

    /// Opens an existing store for reading (`status`, `list`): creates no file when it does not exist (an
    /// existing WAL database may get its `-wal` and `-shm` files) and never migrates.
    ///
    /// - Throws: ``DurableSQLiteError`` `databaseUnavailable` ("no such database: PATH", not a database, no schema
    ///   yet), `schema` for a schema older or newer than this program's.
    public init(readingExisting path: String) throws {
        self.path = path
        self.pool = try RunDatabase.openForReading(at: path)
        self.isReadOnly = true
    }

    /// Checkpoints the WAL into the database file and closes the connections, checking both: call it before you
    /// report success. The store cannot be used afterwards; closing it again does nothing.
    ///
    /// - Throws: ``DurableSQLiteError`` naming the file (`ioFailed` when a sync failed: nothing is retried).
    public func close() throws {
        guard !closed.withLock({ $0 }) else { return }
        do {
            if !isReadOnly {
                // PASSIVE: whatever no reader still needs, without waiting for readers. Its syncs are checked here;
                // the close's own checkpoint then finds nothing left to write (and would not report a failure).
                try pool.writeWithoutTransaction { db in _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            }
            try pool.close()
            closed.withLock { $0 = true }
        } catch {
            throw DurableSQLiteError.database(error, operation: "close the run store", path: path)
        }
    }

    /// Reads through the pool; an SQLite error becomes a ``DurableSQLiteError`` naming the file.
    func reading<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch {
            throw DurableSQLiteError.database(error, operation: operation, path: path)
        }
    }

    /// Writes in one immediate transaction (synced when it returns); an SQLite error becomes a
    /// ``DurableSQLiteError`` naming the file.
    func writing<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch {
            throw DurableSQLiteError.database(error, operation: operation, path: path)
        }
    }

    /// `<database>.run-<id>.lock`: a `FileLock`, released by the kernel when its holder dies.
    public func lock(forRun id: String) -> any ProcessLock {
        FileLock(at: FilePath(lockPath(forRun: id)))
    }

    /// The lock file's path for a run.
    public func lockPath(forRun id: String) -> String { "\(path).run-\(id).lock" }

    public func sourceVersions(named name: String) async throws -> [SourceVersion] {
        try await reading("read the sources") { db in try Self.sourceVersions(db, named: name) }
    }

    public func createRun(
        id: String, name: String?, source: SourceVersion, configuration: RunConfiguration, startedAt: Date
    ) async throws -> RunRecord {
        try configuration.validate()
        return try await writing("create the run") { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (id, name, source_id, status, config, source_checksum, total_items, started_at,
                                      last_progress_at)
                    VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, name, source.id, configuration.canonicalJSON, source.checksum, source.itemCount,
                    Timestamp.string(startedAt), Timestamp.string(startedAt),
                ])
            return try Self.fetchRun(db, id: id)!
        }
    }

    public func run(id: String) async throws -> RunRecord? {
        try await reading("read run \(id)") { db in try Self.fetchRun(db, id: id) }
    }

    public func runs() async throws -> [RunRecord] {
        try await reading("list the runs") { db in
            try Row.fetchAll(db, sql: Self.runSelect + " ORDER BY r.started_at DESC, r.rowid DESC").map(Self.runRecord)
        }
    }

    public func markResumed(runID id: String) async throws -> RunRecord {
        try await writing("mark run \(id) resumed") { db in
            try db.execute(
                sql: "UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ? AND status != 'completed'",
                arguments: [id])
            guard let run = try Self.fetchRun(db, id: id) else { throw Self.notFound(id) }
            return run
        }
    }

    static func sourceVersions(_ db: Database, named name: String) throws -> [SourceVersion] {
        try Row.fetchAll(db, sql: "SELECT * FROM sources WHERE name = ? ORDER BY version", arguments: [name])
            .map(Self.sourceVersion)
    }

    static let runSelect = """
        SELECT r.*, s.name AS source_name, s.version AS source_version
        FROM runs AS r JOIN sources AS s ON s.id = r.source_id
        """

    static func fetchRun(_ db: Database, id: String) throws -> RunRecord? {
        try Row.fetchOne(db, sql: runSelect + " WHERE r.id = ?", arguments: [id]).map(runRecord)
    }

    static func runRecord(_ row: Row) throws -> RunRecord {
        let statusText: String = row["status"]
        guard let status = RunStatus(rawValue: statusText) else {
            throw DurableRunStoreError(.schema, operation: "read run", message: "unknown run status '\(statusText)'")
        }
        let metricsText: String? = row["final_metrics"]
        let metrics = metricsText.flatMap { try? JSONDecoder().decode(RunMetrics.self, from: Data($0.utf8)) }
        return RunRecord(
            id: row["id"], name: row["name"], status: status,
            configuration: try RunConfiguration(canonicalJSON: row["config"]), sourceID: row["source_id"],
            sourceName: row["source_name"], sourceVersion: row["source_version"],
            sourceChecksum: row["source_checksum"], totalItems: row["total_items"],
            completedCount: row["completed_count"], failedCount: row["failed_count"],
            lastProgressAt: Timestamp.date(row["last_progress_at"]),
            estimatedCompletionAt: Timestamp.date(row["estimated_completion_at"]),
            startedAt: Timestamp.date(row["started_at"]) ?? Date(timeIntervalSince1970: 0),
            finishedAt: Timestamp.date(row["finished_at"]), finalMetrics: metrics)
    }

    static func sourceVersion(_ row: Row) throws -> SourceVersion {
        let columns: String = row["id_columns"]
        let formatText: String = row["format"]
        return SourceVersion(
            id: row["id"], name: row["name"], version: row["version"], format: SourceFile.Format(rawValue: formatText) ?? .csv,
            idColumns: (try? JSONDecoder().decode([String].self, from: Data(columns.utf8))) ?? [],
            checksum: row["data_checksum"], itemCount: row["item_count"],
            ingestedAt: Timestamp.date(row["ingested_at"]) ?? Date(timeIntervalSince1970: 0))
    }

    static func notFound(_ id: String) -> DurableRunStoreError {
        .runNotFound(id, operation: "find run", listing: "--db FILE")
    }
}
