import DurableIO
import Foundation
import GRDB
import SystemPackage

/// The embedded run store: one SQLite file through GRDB (WAL, `synchronous=FULL`, migrated on open), and a
/// ``FileLock`` per run beside it (`<database>.run-<id>.lock`) so one process works on a run at a time.
///
/// Thread-safe: GRDB's `DatabasePool` serialises writes and runs reads concurrently; blocking SQLite work runs on
/// GRDB's own queues, not on the cooperative pool.
///
/// ```swift
/// let store = try SQLiteRunStore(path: "runs.sqlite")
/// for run in try await store.runs() { print(run.id, store.state(of: run)) }
/// ```
public final class SQLiteRunStore: LockedRunStore {
    /// The database file.
    public let path: String
    /// The GRDB pool (for inspection and for users' own queries; write through the store).
    public let pool: DatabasePool

    /// Opens (or creates) the store at `path`.
    ///
    /// - Parameters:
    ///   - path: the SQLite file.
    ///   - synchronous: ``RunDatabase/Synchronous/full`` (the default): a commit that returned is on disk.
    /// - Throws: ``DurableSQLiteError`` (`schema`) for a database written by a newer program; GRDB's error when the
    ///   file is not a database.
    public init(path: String, synchronous: RunDatabase.Synchronous = .full) throws {
        self.path = path
        self.pool = try RunDatabase.open(at: path, synchronous: synchronous)
    }

    /// `<database>.run-<id>.lock`: a ``FileLock``, released by the kernel when its holder dies.
    public func lock(forRun id: String) -> any ProcessLock {
        FileLock(at: FilePath(lockPath(forRun: id)))
    }

    /// The lock file's path for a run.
    public func lockPath(forRun id: String) -> String { "\(path).run-\(id).lock" }

    public func sourceVersions(named name: String) async throws -> [SourceVersion] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sources WHERE name = ? ORDER BY version", arguments: [name])
                .map(Self.sourceVersion)
        }
    }

    public func createRun(
        id: String, name: String?, source: SourceVersion, configuration: RunConfiguration, startedAt: Date
    ) async throws -> RunRecord {
        try configuration.validate()
        return try await pool.write { db in
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
        try await pool.read { db in try Self.fetchRun(db, id: id) }
    }

    public func runs() async throws -> [RunRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: Self.runSelect + " ORDER BY r.started_at DESC, r.rowid DESC").map(Self.runRecord)
        }
    }

    public func markResumed(runID id: String) async throws -> RunRecord {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ? AND status != 'completed'",
                arguments: [id])
            guard let run = try Self.fetchRun(db, id: id) else { throw Self.notFound(id) }
            return run
        }
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
            throw DurableSQLiteError(.schema, operation: "read run", message: "unknown run status '\(statusText)'")
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

    static func notFound(_ id: String) -> DurableSQLiteError {
        DurableSQLiteError(
            .runNotFound, operation: "find run", message: "no run has the id \(id)",
            hint: "List the runs with: durable-resume list --db FILE")
    }
}
