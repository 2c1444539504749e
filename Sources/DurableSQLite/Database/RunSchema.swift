import GRDB

/// The run store's schema, as versioned migrations applied in order by GRDB's `DatabaseMigrator`.
///
/// - `v1`: sources (versioned by name, with the file's SHA-256), source items, runs and results.
/// - `v2` (the resumable-runs change): one result per `(run_id, item_id)` — duplicates left by older writers are
///   folded into the newest, with the attempts counted — and the diagnostics columns (`attempt_count`,
///   `first_error_message`, `last_error_message`, `last_attempt_at`, `error_category`); the runs' progress
///   columns (`completed_count`, `failed_count`, `last_progress_at`, `estimated_completion_at`,
///   `final_metrics`), backfilled from the results.
///
/// Migrations are idempotent: each runs once and is recorded in `grdb_migrations`; opening an up-to-date database
/// changes nothing. A database written by a newer program (with migrations this one does not know) is refused.
///
/// ```swift
/// let pool = try RunDatabase.openUnmigrated(at: "runs.sqlite")
/// try RunSchema.migrate(pool)
/// print(try pool.read(RunSchema.appliedVersions))   // ["v1", "v2"]
/// ```
public enum RunSchema {
    /// The versions this program knows, oldest first.
    public static let versions = ["v1", "v2"]

    /// Migrates `writer` up to `version` (default: the latest).
    ///
    /// - Throws: ``DurableSQLiteError`` (`schema`) when the database has migrations this program does not know.
    public static func migrate(_ writer: any DatabaseWriter, upTo version: String? = nil) throws {
        let migrator = self.migrator
        let superseded = try writer.read { db in try migrator.hasBeenSuperseded(db) }
        if superseded {
            let applied = try writer.read { db in try migrator.appliedIdentifiers(db) }
            throw DurableSQLiteError(
                .schema, operation: "open database",
                message: "the database has schema versions this program does not know (\(applied.subtracting(versions).sorted().joined(separator: ", ")))",
                hint: "Use the durable-resume version that wrote it, or a newer one.")
        }
        try migrator.migrate(writer, upTo: version ?? versions.last!)
    }

    /// The versions applied to `db`, oldest first.
    public static func appliedVersions(_ db: Database) throws -> [String] {
        try migrator.appliedMigrations(db)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
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
                """)
        }
        migrator.registerMigration("v2") { db in
            // Fold duplicates into the newest row (the highest id), counting the attempts, before the unique index.
            try db.execute(sql: """
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
                """)
        }
        return migrator
    }
}
