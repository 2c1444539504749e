import GRDB

/// The run store's schema, as versioned migrations applied in order.
///
/// - `v1`: sources (versioned by name, with the file's SHA-256), source items, runs and results.
/// - `v2` (the resumable-runs change): one result per `(run_id, item_id)` — duplicates left by older writers are
///   folded into the newest, with the attempts counted — and the diagnostics columns (`attempt_count`,
///   `first_error_message`, `last_error_message`, `last_attempt_at`, `error_category`); the runs' progress
///   columns (`completed_count`, `failed_count`, `last_progress_at`, `estimated_completion_at`,
///   `final_metrics`), backfilled from the results.
/// - `v3` (planning at 10M items): the runs' frontier, `results_complete_below` — every item at a lower position
///   has a result — from which the search for the items left starts; computed for the runs already there.
///
/// Migrations run once, under the writer's lock: the versions applied are read, and the missing ones applied and
/// recorded in `grdb_migrations`, inside one `BEGIN IMMEDIATE` transaction. Two processes opening a fresh database
/// at once therefore never both apply a migration (GRDB's `DatabaseMigrator` reads the applied versions before it
/// takes the lock, so two processes could). Opening an up-to-date database writes nothing. A database written by a
/// newer program (with migrations this one does not know) is refused. Readers never migrate:
/// ``requireReadable(_:path:)`` says what is missing instead.
///
/// ```swift
/// let pool = try RunDatabase.openUnmigrated(at: "runs.sqlite")
/// try RunSchema.migrate(pool)
/// print(try pool.read(RunSchema.appliedVersions))   // ["v1", "v2", "v3"]
/// ```
package enum RunSchema {
    /// The versions this program knows, oldest first.
    package static let versions = migrations.map(\.version)

    /// The table that records the versions applied (GRDB's name, kept for the databases written before).
    static let versionTable = "grdb_migrations"

    /// Migrates `writer` up to `version` (default: the latest), in one immediate transaction.
    ///
    /// - Throws: ``DurableSQLiteError`` (`schema`) when the database has migrations this program does not know,
    ///   or `invalidInput` for a version this program does not know.
    package static func migrate(_ writer: any DatabaseWriter, upTo version: String? = nil) throws {
        let target = version ?? versions.last!
        guard let last = versions.firstIndex(of: target) else {
            throw DurableSQLiteError(.invalidInput, operation: "migrate", message: "unknown schema version \(target)")
        }
        let wanted = Array(migrations.prefix(through: last))
        // Up to date: nothing to write, no write lock to wait for.
        let applied = try writer.read { db in try recordedVersions(db) }
        try refuseUnknown(applied)
        if wanted.allSatisfy({ applied.contains($0.version) }) { return }
        try writer.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS \(versionTable) (identifier TEXT NOT NULL PRIMARY KEY)")
                let applied = try recordedVersions(db)  // again, now that this connection holds the write lock
                try refuseUnknown(applied)
                for migration in wanted where !applied.contains(migration.version) {
                    try db.execute(sql: migration.sql)
                    try db.execute(sql: "INSERT INTO \(versionTable) (identifier) VALUES (?)", arguments: [migration.version])
                }
                return .commit
            }
        }
    }

    /// The versions applied to `db`, oldest first (only those this program knows).
    package static func appliedVersions(_ db: Database) throws -> [String] {
        let applied = try recordedVersions(db)
        return versions.filter(applied.contains)
    }

    /// Throws unless `db` has exactly this program's schema: for a reader, which never migrates.
    ///
    /// - Throws: ``DurableSQLiteError`` `databaseUnavailable` for a database with no run store schema yet (or
    ///   another program's database), `schema` for an older or a newer schema.
    static func requireReadable(_ db: Database, path: String) throws {
        let operation = "read the run store"
        guard try db.tableExists(versionTable) else {
            let tables = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0
            if tables == 0 {
                throw DurableSQLiteError(
                    .databaseUnavailable, operation: operation,
                    message: "\(path) is not set up yet: it holds no run store schema (a `start` or `ingest` creating it may not have committed yet)",
                    hint: "Run `durable-resume ingest` or `start` with --db \(path) to set it up, or check the path.")
            }
            throw DurableSQLiteError(
                .databaseUnavailable, operation: operation,
                message: "\(path) is an SQLite database but not a durable-resume run store (it has \(tables) tables, none of the run store's)",
                hint: "Check the --db path.")
        }
        let applied = try recordedVersions(db)
        try refuseUnknown(applied)
        let missing = versions.filter { !applied.contains($0) }
        guard missing.isEmpty else {
            let current = try appliedVersions(db).last ?? "none"
            throw DurableSQLiteError(
                .schema, operation: operation,
                message: "\(path) has schema \(current), older than this program's \(versions.last!); a reading command does not upgrade it",
                hint: "A writing command of this version (`durable-resume resume` or `ingest` with --db \(path)) upgrades it; older programs cannot read it afterwards.")
        }
    }

    private static func recordedVersions(_ db: Database) throws -> Set<String> {
        guard try db.tableExists(versionTable) else { return [] }
        return Set(try String.fetchAll(db, sql: "SELECT identifier FROM \(versionTable)"))
    }

    private static func refuseUnknown(_ applied: Set<String>) throws {
        let unknown = applied.subtracting(versions)
        guard unknown.isEmpty else {
            throw DurableSQLiteError(
                .schema, operation: "open database",
                message: "the database has schema versions this program does not know (\(unknown.sorted().joined(separator: ", ")))",
                hint: "Use the durable-resume version that wrote it, or a newer one.")
        }
    }

    /// One schema version: its identifier and the SQL that applies it.
    struct Migration {
        var version: String
        var sql: String
    }

    static let migrations: [Migration] = [
        Migration(version: "v1", sql: """
                CREATE TABLE sources (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    format TEXT NOT NULL CHECK (format IN ('csv', 'jsonl')),
                    id_columns TEXT NOT NULL,
                    data_checksum TEXT NOT NULL,
                    item_count INTEGER NOT NULL,
                    ingested_at TEXT NOT NULL,
                    UNIQUE (name, version)
                );
                CREATE TABLE source_items (
                    id INTEGER PRIMARY KEY,
                    source_id INTEGER NOT NULL REFERENCES sources(id),
                    item_key TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    data TEXT NOT NULL,
                    UNIQUE (source_id, item_key)
                );
                CREATE INDEX source_items_by_position ON source_items(source_id, position);
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY,
                    name TEXT,
                    source_id INTEGER NOT NULL REFERENCES sources(id),
                    status TEXT NOT NULL CHECK (status IN ('running', 'failed', 'completed')),
                    config TEXT NOT NULL,
                    source_checksum TEXT NOT NULL,
                    total_items INTEGER NOT NULL,
                    started_at TEXT NOT NULL,
                    finished_at TEXT
                );
                CREATE TABLE results (
                    id INTEGER PRIMARY KEY,
                    run_id TEXT NOT NULL REFERENCES runs(id),
                    item_id INTEGER NOT NULL REFERENCES source_items(id),
                    output TEXT,
                    error_occurred INTEGER NOT NULL DEFAULT 0,
                    error_message TEXT,
                    created_at TEXT NOT NULL
                );
                CREATE INDEX results_by_run ON results(run_id, item_id);
                """),
        // Fold duplicates into the newest row (the highest id), counting the attempts, before the unique index.
        Migration(version: "v2", sql: """
                ALTER TABLE results RENAME COLUMN error_message TO last_error_message;
                ALTER TABLE results ADD COLUMN attempt_count INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE results ADD COLUMN first_error_message TEXT;
                ALTER TABLE results ADD COLUMN last_attempt_at TEXT;
                ALTER TABLE results ADD COLUMN error_category TEXT;
                UPDATE results SET
                    attempt_count = (SELECT COUNT(*) FROM results AS r
                                     WHERE r.run_id = results.run_id AND r.item_id = results.item_id),
                    first_error_message = (SELECT r.last_error_message FROM results AS r
                                           WHERE r.run_id = results.run_id AND r.item_id = results.item_id
                                             AND r.last_error_message IS NOT NULL ORDER BY r.id LIMIT 1),
                    last_attempt_at = created_at;
                DELETE FROM results WHERE id NOT IN (SELECT MAX(id) FROM results GROUP BY run_id, item_id);
                DROP INDEX results_by_run;
                CREATE UNIQUE INDEX results_one_per_item ON results(run_id, item_id);
                CREATE INDEX results_by_error ON results(run_id, error_occurred);

                ALTER TABLE runs ADD COLUMN completed_count INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE runs ADD COLUMN failed_count INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE runs ADD COLUMN last_progress_at TEXT;
                ALTER TABLE runs ADD COLUMN estimated_completion_at TEXT;
                ALTER TABLE runs ADD COLUMN final_metrics TEXT;
                UPDATE runs SET
                    completed_count = (SELECT COUNT(*) FROM results WHERE run_id = runs.id AND error_occurred = 0),
                    failed_count = (SELECT COUNT(*) FROM results WHERE run_id = runs.id AND error_occurred = 1),
                    last_progress_at = (SELECT MAX(created_at) FROM results WHERE run_id = runs.id);
                CREATE INDEX runs_by_start ON runs(started_at);
                """),
        Migration(version: "v3", sql: """
                ALTER TABLE runs ADD COLUMN results_complete_below INTEGER NOT NULL DEFAULT 0;
                UPDATE runs SET results_complete_below = COALESCE(
                    (SELECT i.position FROM source_items AS i
                     WHERE i.source_id = runs.source_id
                       AND NOT EXISTS (SELECT 1 FROM results AS r WHERE r.run_id = runs.id AND r.item_id = i.id)
                     ORDER BY i.position LIMIT 1),
                    runs.total_items);
                """),
    ]
}
