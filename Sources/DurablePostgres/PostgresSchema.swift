import PostgresNIO

/// The PostgreSQL run store's schema, as versioned migrations applied in order, each in one transaction under a
/// transaction-scoped advisory lock — so a fleet of workers starting at once migrates once.
///
/// - `v1`: the same concepts as the SQLite store's `v2` (sources with their SHA-256, source items, runs with counts,
///   progress and ETA, results with `PRIMARY KEY (run_id, item_id)` and the diagnostics columns), plus what many
///   workers need: `run_items` (one row per item of a run: done or not, and the lease — worker, fencing token,
///   expiry), `workers` (heartbeats and counts) and the `lease_tokens` sequence.
///
/// Everything lives in one PostgreSQL schema (default `durable`, selected through `search_path`), so the store
/// shares a database with other applications without touching their tables. Versions are recorded in
/// `schema_versions`; a database with versions this program does not know is refused.
///
/// ```swift
/// let store = try await PostgresRunStore.connect(to: location)   // migrates on connect
/// print(try await store.appliedVersions())                       // ["v1"]
/// ```
public enum PostgresSchema {
    /// The versions this program knows, oldest first.
    public static let versions = ["v1"]

    static let migrations: [(version: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE sources (
                    id BIGSERIAL PRIMARY KEY,
                    name TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    format TEXT NOT NULL CHECK (format IN ('csv', 'jsonl')),
                    id_columns TEXT NOT NULL,
                    data_checksum TEXT NOT NULL,
                    item_count BIGINT NOT NULL,
                    ingested_at TIMESTAMPTZ NOT NULL,
                    UNIQUE (name, version)
                )
                """,
                """
                CREATE TABLE source_items (
                    id BIGSERIAL PRIMARY KEY,
                    source_id BIGINT NOT NULL REFERENCES sources(id),
                    item_key TEXT NOT NULL,
                    position BIGINT NOT NULL,
                    data TEXT NOT NULL,
                    UNIQUE (source_id, item_key)
                )
                """,
                "CREATE INDEX source_items_by_position ON source_items (source_id, position)",
                """
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY,
                    name TEXT,
                    source_id BIGINT NOT NULL REFERENCES sources(id),
                    status TEXT NOT NULL CHECK (status IN ('running', 'failed', 'completed')),
                    config TEXT NOT NULL,
                    source_checksum TEXT NOT NULL,
                    total_items BIGINT NOT NULL,
                    completed_count BIGINT NOT NULL DEFAULT 0,
                    failed_count BIGINT NOT NULL DEFAULT 0,
                    refused_count BIGINT NOT NULL DEFAULT 0,
                    started_at TIMESTAMPTZ NOT NULL,
                    finished_at TIMESTAMPTZ,
                    last_progress_at TIMESTAMPTZ,
                    estimated_completion_at TIMESTAMPTZ,
                    final_metrics TEXT
                )
                """,
                "CREATE INDEX runs_by_start ON runs (started_at)",
                """
                CREATE TABLE results (
                    run_id TEXT NOT NULL REFERENCES runs(id),
                    item_id BIGINT NOT NULL REFERENCES source_items(id),
                    output TEXT,
                    error_occurred INTEGER NOT NULL DEFAULT 0,
                    attempt_count BIGINT NOT NULL DEFAULT 1,
                    first_error_message TEXT,
                    last_error_message TEXT,
                    error_category TEXT,
                    last_attempt_at TIMESTAMPTZ,
                    created_at TIMESTAMPTZ NOT NULL,
                    recorded_by TEXT,
                    PRIMARY KEY (run_id, item_id)
                )
                """,
                "CREATE INDEX results_by_error ON results (run_id, error_occurred)",
                """
                CREATE TABLE run_items (
                    run_id TEXT NOT NULL REFERENCES runs(id),
                    item_id BIGINT NOT NULL REFERENCES source_items(id),
                    position BIGINT NOT NULL,
                    done BOOLEAN NOT NULL DEFAULT false,
                    lease_worker TEXT,
                    lease_token BIGINT,
                    lease_expires_at TIMESTAMPTZ,
                    claims BIGINT NOT NULL DEFAULT 0,
                    PRIMARY KEY (run_id, item_id)
                )
                """,
                "CREATE INDEX run_items_claimable ON run_items (run_id, position) WHERE NOT done",
                "CREATE INDEX run_items_by_lease ON run_items (run_id, lease_worker) WHERE lease_worker IS NOT NULL AND NOT done",
                "CREATE SEQUENCE lease_tokens",
                """
                CREATE TABLE workers (
                    run_id TEXT NOT NULL REFERENCES runs(id),
                    worker_id TEXT NOT NULL,
                    host TEXT NOT NULL,
                    pid BIGINT NOT NULL,
                    joined_at TIMESTAMPTZ NOT NULL,
                    last_heartbeat_at TIMESTAMPTZ NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL,
                    left_at TIMESTAMPTZ,
                    claimed BIGINT NOT NULL DEFAULT 0,
                    recorded BIGINT NOT NULL DEFAULT 0,
                    refused BIGINT NOT NULL DEFAULT 0,
                    PRIMARY KEY (run_id, worker_id)
                )
                """,
            ]
        )
    ]

    /// Migrates the store's schema to the latest version (idempotent; safe with many processes at once).
    static func migrate(_ client: PostgresClient, schema: String, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("durableio-migrate:" + schema)))", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
            try await connection.query(
                PostgresQuery(unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS \(schema).schema_versions (
                        version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                    """), logger: logger)
            var applied: Set<String> = []
            for try await version in try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT version FROM \(schema).schema_versions"), logger: logger
            ).decode(String.self) {
                applied.insert(version)
            }
            let unknown = applied.subtracting(versions)
            guard unknown.isEmpty else {
                throw DurablePostgresError(
                    .schema, operation: "open store",
                    message: "schema \(schema) has versions this program does not know (\(unknown.sorted().joined(separator: ", ")))",
                    hint: "Use the durable-resume version that wrote it, or a newer one.")
            }
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    PostgresQuery(unsafeSQL: "INSERT INTO \(schema).schema_versions (version) VALUES ('\(migration.version)')"),
                    logger: logger)
            }
        }
    }
}
