import DurableIO
import DurableRunStore
import Foundation
import Logging
import PostgresNIO

/// The server-backed run store: the same runs, sources and results as `SQLiteRunStore`, on PostgreSQL through
/// PostgresNIO, for many workers on many hosts sharing one run (see `ClaimingRunStore`).
///
/// Exclusion is per item, by the leases in `run_items` — not a run-level lock: the point of this mode is many
/// workers on one run. A worker claims with `SELECT … FOR UPDATE SKIP LOCKED` and records the lease in the same
/// statement; results are accepted only from the current lease holder, checked against the database's clock.
/// The one advisory lock is transaction-scoped, around migrations.
///
/// Thread-safe: PostgresNIO's `PostgresClient` is a connection pool
/// (``connect(to:schema:maximumConnections:operationTimeout:)`` runs it on a task of its own; ``close()`` ends it).
/// Passwords never appear in its messages: the store names itself by ``PostgresLocation/redacted``.
///
/// ```swift
/// let store = try await PostgresRunStore.connect(to: PostgresLocation("postgres://worker@db/runs"))
/// defer { Task { await store.close() } }
/// for run in try await store.runs() { print(run.id, try await store.currentState(of: run)) }
/// ```
public final class PostgresRunStore: ClaimingRunStore {
    /// Where the store is.
    public let location: PostgresLocation
    /// The PostgreSQL schema holding the tables (default `durable`).
    public let schema: String
    /// The longest one store call may wait for the server (a connection, a statement, a transaction).
    public let operationTimeout: Duration
    let client: PostgresClient
    let logger: Logger
    private let running: Task<Void, Never>

    private init(location: PostgresLocation, schema: String, maximumConnections: Int, operationTimeout: Duration) {
        self.location = location
        self.schema = schema
        self.operationTimeout = operationTimeout
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: Self.tls(location.tls))
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        // synchronous_commit=on for every connection whatever the server, database or role default: a commit
        // returns only after the server flushed its WAL (checked after connecting: ``connect(to:schema:maximumConnections:operationTimeout:)``).
        configuration.options.additionalStartupParameters = [
            ("search_path", schema), ("application_name", "durable-resume"), ("synchronous_commit", "on"),
        ]
        var logger = Logger(label: "DurablePostgres")
        logger.logLevel = .critical
        self.logger = logger
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.running = Task { await client.run() }
    }

    deinit { running.cancel() }

    /// Connects to the store at `location` and migrates its schema.
    ///
    /// - Parameters:
    ///   - location: the server, database and credentials (a parsed `postgres://` URL).
    ///   - schema: the PostgreSQL schema for the tables (default: the location's, `durable` unless the URL says
    ///     `?schema=…`); tests use one each.
    ///   - maximumConnections: the pool's size (a worker needs 2: its claims and commits, and its renewals).
    ///   - operationTimeout: the longest one call may wait for the server before it fails with `unreachable`
    ///     (a worker cut off from the database then notices, instead of waiting for ever); default: the
    ///     location's (`?timeout=SECONDS`, else 15 s).
    /// - Throws: ``DurablePostgresError`` — `unreachable`, `authentication`, `schema` — naming the store by its
    ///   redacted URL.
    public static func connect(
        to location: PostgresLocation, schema: String? = nil, maximumConnections: Int = 4,
        operationTimeout: Duration? = nil
    ) async throws -> PostgresRunStore {
        let schema = schema ?? location.schema
        let operationTimeout = operationTimeout ?? location.timeout
        guard PostgresLocation.isSchemaName(schema) else {
            throw DurablePostgresError(
                .invalidLocation, operation: "open store",
                message: "'\(schema)' is not a usable schema name", hint: "Use lower-case letters, digits and _.")
        }
        try await probe(location, timeout: operationTimeout)
        let store = PostgresRunStore(
            location: location, schema: schema, maximumConnections: maximumConnections, operationTimeout: operationTimeout)
        do {
            let client = store.client
            let logger = store.logger
            try await Deadline.run(operationTimeout, timeoutError: store.timedOut("open store")) {
                try await PostgresSchema.migrate(client, schema: schema, logger: logger)
            }
            try await store.checkSynchronousCommit()
        } catch {
            await store.close()
            throw DurablePostgresError.wrap(error, operation: "open store", store: location.redacted)
        }
        return store
    }

    /// One plain connection first: the pool retries a refused login or connection quietly, a single connection
    /// says at once what is wrong.
    private static func probe(_ location: PostgresLocation, timeout: Duration) async throws {
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: try connectionTLS(location.tls))
        configuration.options.connectTimeout = .milliseconds(Int64(timeout.seconds * 1000))
        var logger = Logger(label: "DurablePostgres")
        logger.logLevel = .critical
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
        } catch {
            throw DurablePostgresError.wrap(error, operation: "open store", store: location.redacted)
        }
    }

    static func connectionTLS(_ mode: PostgresLocation.TLSMode) throws -> PostgresConnection.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }

    /// Reads `synchronous_commit` back on a connection of the pool (the effective setting, not the one asked
    /// for): anything that does not wait for the server's WAL flush (`off`) would acknowledge commits a server
    /// crash can lose.
    func checkSynchronousCommit() async throws {
        let setting = try await rows("open store", "SHOW synchronous_commit").first?.decode(String.self) ?? "?"
        guard ["on", "local", "remote_write", "remote_apply"].contains(setting) else {
            throw DurablePostgresError(
                .server, operation: "open store",
                message: "\(location.redacted): synchronous_commit is '\(setting)' on this connection although the store asked for 'on'; a commit it acknowledged could be lost if the server crashed",
                hint: "Find what overrides it (ALTER ROLE/DATABASE … SET synchronous_commit, a pooler) and let clients set it.")
        }
    }

    /// The error a failed call throws, saying what happened: when the pool knows only that it got no connection in
    /// time (or has stopped trying: its circuit breaker), one plain connection finds out why — the server refused
    /// it, did not answer, refused the login.
    func explained(_ error: any Error, operation: String) async -> any Error {
        let wrapped = DurablePostgresError.wrap(error, operation: operation, store: location.redacted)
        guard let failure = wrapped as? DurablePostgresError, failure.code == .unreachable else { return wrapped }
        do {
            try await Self.probe(location, timeout: min(operationTimeout, .seconds(5)))
        } catch let cause as DurablePostgresError {
            return DurablePostgresError(cause.code, operation: operation, message: cause.message, hint: cause.hint, sqlState: cause.sqlState)
        } catch {}
        return wrapped
    }

    func timedOut(_ operation: String) -> DurablePostgresError {
        DurablePostgresError(
            .unreachable, operation: operation,
            message: "\(location.redacted) did not answer within \(PostgresLocation.seconds(operationTimeout)) s",
            hint: """
                Check that the server runs and that this host can reach it; a worker's leases expire while it cannot. \
                A server that is up but busy (a checkpoint writing to a slow disk, a loaded host) can stall this long \
                too: then allow it longer with ?timeout=SECONDS in the store URL (now \(PostgresLocation.seconds(operationTimeout))).
                """)
    }

    /// Ends the connection pool.
    public func close() async {
        running.cancel()
        _ = await running.result
    }

    /// The schema versions applied, oldest first.
    public func appliedVersions() async throws -> [String] {
        try await rows("read schema", "SELECT version FROM schema_versions ORDER BY version").map { try $0.decode(String.self) }
    }

    public func sourceVersions(named name: String) async throws -> [SourceVersion] {
        try await rows("read sources", "SELECT \(unescaped: Self.sourceColumns) FROM sources WHERE name = \(name) ORDER BY version")
            .map(Self.sourceVersion)
    }

    public func createRun(
        id: String, name: String?, source: SourceVersion, configuration: RunConfiguration, startedAt: Date
    ) async throws -> RunRecord {
        try await createRun(
            id: id, name: name, source: source, configuration: configuration, startedAt: startedAt,
            itemsPerStatement: Self.runItemsPerStatement)
    }

    /// How many of a source's items one statement copies into a new run: each statement's answer restarts the
    /// time limit, so a run of any size is created while the server makes progress (one statement for all of 10
    /// million items outlived a 120 s limit on a loaded machine).
    static let runItemsPerStatement = 250_000

    /// ``createRun(id:name:source:configuration:startedAt:)`` copying `itemsPerStatement` items per statement, in
    /// one transaction: a run has all of its source's items or does not exist.
    func createRun(
        id: String, name: String?, source: SourceVersion, configuration: RunConfiguration, startedAt: Date,
        itemsPerStatement: Int
    ) async throws -> RunRecord {
        try configuration.validate()
        precondition(itemsPerStatement > 0, "itemsPerStatement must be positive")
        let logger = self.logger
        return try await transaction("create run", reportingProgress: { connection, progress in
            try await connection.query(
                """
                INSERT INTO runs (id, name, source_id, status, config, source_checksum, total_items, started_at,
                                  last_progress_at)
                VALUES (\(id), \(name), \(source.id), 'running', \(configuration.canonicalJSON), \(source.checksum),
                        \(source.itemCount), \(startedAt), \(startedAt))
                """, logger: logger)
            progress.beat()
            // Positions are 0..<itemCount (the ingest numbers them so); the index on (source_id, position) reads
            // each range directly.
            var copied = 0
            for start in stride(from: 0, to: source.itemCount, by: itemsPerStatement) {
                copied += try await Self.collect(
                    try await connection.query(
                        """
                        WITH copied AS (
                            INSERT INTO run_items (run_id, item_id, position)
                            SELECT \(id), id, position FROM source_items
                            WHERE source_id = \(source.id) AND position >= \(start) AND position < \(start + itemsPerStatement)
                            RETURNING 1)
                        SELECT count(*) FROM copied
                        """, logger: logger)
                ).first?.decode(Int.self) ?? 0
                progress.beat()
            }
            guard copied == source.itemCount else {
                throw DurableRunStoreError(
                    .schema, operation: "start",
                    message: "source \(source.name) version \(source.version) lists \(source.itemCount) items, but \(copied) are stored at its positions 0..<\(source.itemCount); the run was not created",
                    hint: "Nothing was created. The store's copy of this source is damaged (an ingest of the same file is skipped by its checksum): restore the database from a backup, or ingest the file into a fresh store.")
            }
            let run = try await Self.fetchRun(connection, id: id, logger: logger)!
            // The commit flushes what the inserts wrote (the rows and their indexes): allow it a second per
            // 250,000 items on top of the limit.
            progress.beat(allowing: .milliseconds(source.itemCount / 250))
            return run
        })
    }

    public func run(id: String) async throws -> RunRecord? {
        try await rows("read run", "SELECT \(unescaped: Self.runColumns) FROM \(unescaped: Self.runFrom) WHERE r.id = \(id)")
            .first.map(Self.runRecord)
    }

    public func runs() async throws -> [RunRecord] {
        try await rows("read runs", "SELECT \(unescaped: Self.runColumns) FROM \(unescaped: Self.runFrom) ORDER BY r.started_at DESC, r.id")
            .map(Self.runRecord)
    }

    public func markResumed(runID id: String) async throws -> RunRecord {
        try await rows("resume run", "UPDATE runs SET status = 'running', finished_at = NULL WHERE id = \(id) AND status != 'completed'")
        guard let run = try await run(id: id) else { throw Self.notFound(id) }
        return run
    }

    /// `live` while a worker's heartbeat is unexpired, else `interrupted` (for a `running` run).
    public func currentState(of run: RunRecord) async throws -> RunState {
        switch run.status {
        case .completed: return .completed
        case .failed: return .failed
        case .running:
            let live = try await rows(
                "read workers",
                "SELECT count(*) FROM workers WHERE run_id = \(run.id) AND left_at IS NULL AND expires_at > now()"
            ).first?.decode(Int.self) ?? 0
            return live > 0 ? .live : .interrupted
        }
    }

    // MARK: - Plumbing

    /// Runs `query` and collects its rows; errors name the store by its redacted URL.
    @discardableResult
    package func rows(_ operation: String, _ query: PostgresQuery) async throws -> [PostgresRow] {
        let client = self.client
        let logger = self.logger
        do {
            return try await Deadline.run(operationTimeout, timeoutError: self.timedOut(operation)) {
                var rows: [PostgresRow] = []
                for try await row in try await client.query(query, logger: logger) { rows.append(row) }
                return rows
            }
        } catch {
            throw await explained(error, operation: operation)
        }
    }

    /// Runs `body` in a transaction; errors name the store by its redacted URL.
    func transaction<R: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> R
    ) async throws -> R {
        let client = self.client
        let logger = self.logger
        return try await explainingTransactionErrors(operation) {
            try await Deadline.run(self.operationTimeout, timeoutError: self.timedOut(operation)) {
                try await client.withTransaction(logger: logger) { connection in
                    let result = try await body(connection)
                    return try Self.unlessAbandoned(result)
                }
            }
        }
    }

    /// Like ``transaction(_:_:)`` for a transaction that may take minutes (an ingest of millions of items): it times
    /// out only when ``operationTimeout`` passes without progress, which `body` reports on the ``Deadline/Progress``.
    func transaction<R: Sendable>(
        _ operation: String, reportingProgress body: @escaping @Sendable (PostgresConnection, Deadline.Progress) async throws -> R
    ) async throws -> R {
        let client = self.client
        let logger = self.logger
        return try await explainingTransactionErrors(operation) {
            try await Deadline.run(idle: self.operationTimeout, timeoutError: self.timedOut(operation)) { progress in
                try await client.withTransaction(logger: logger) { connection in
                    progress.beat()
                    let result = try await body(connection, progress)
                    return try Self.unlessAbandoned(result)
                }
            }
        }
    }

    /// `result`, unless the caller has been told the transaction timed out: ``Deadline`` then cancels the work it
    /// abandons, but PostgresNIO's queries do not stop for cancellation, so a body whose statements the server
    /// answered late would run on and commit what the caller was told failed (a run created after "did not answer
    /// within 3 s"). Throwing here rolls it back; only the commit itself is left in doubt, as any commit whose
    /// answer is lost is.
    private static func unlessAbandoned<R>(_ result: R) throws -> R {
        try Task.checkCancellation()
        return result
    }

    /// A transaction's errors: the store's own as they are (also from inside the closure), others explained.
    private func explainingTransactionErrors<R>(_ operation: String, _ run: () async throws -> R) async throws -> R {
        do {
            return try await run()
        } catch let error as DurableRunStoreError {
            throw error
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError as? DurableRunStoreError { throw inner }
            throw await explained(error, operation: operation)
        } catch {
            throw await explained(error, operation: operation)
        }
    }

    static func collect(_ sequence: PostgresRowSequence) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in sequence { rows.append(row) }
        return rows
    }

    static func tls(_ mode: PostgresLocation.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }

    static let runColumns = """
        r.id, r.name, r.status, r.config, r.source_id, s.name, s.version, r.source_checksum, r.total_items,
        r.completed_count, r.failed_count, r.last_progress_at, r.estimated_completion_at, r.started_at,
        r.finished_at, r.final_metrics, r.refused_count
        """
    static let runFrom = "runs AS r JOIN sources AS s ON s.id = r.source_id"
    static let sourceColumns = "id, name, version, format, id_columns, data_checksum, item_count, ingested_at"

    static func fetchRun(_ connection: PostgresConnection, id: String, logger: Logger) async throws -> RunRecord? {
        try await collect(
            try await connection.query("SELECT \(unescaped: runColumns) FROM \(unescaped: runFrom) WHERE r.id = \(id)", logger: logger)
        ).first.map(runRecord)
    }

    static func runRecord(_ row: PostgresRow) throws -> RunRecord {
        let r = row.makeRandomAccess()
        let statusText = try r[2].decode(String.self)
        guard let status = RunStatus(rawValue: statusText) else {
            throw DurableRunStoreError(.schema, operation: "read run", message: "unknown run status '\(statusText)'")
        }
        let metrics = try r[15].decode(String?.self).flatMap { try? JSONDecoder().decode(RunMetrics.self, from: Data($0.utf8)) }
        return RunRecord(
            id: try r[0].decode(String.self), name: try r[1].decode(String?.self), status: status,
            configuration: try RunConfiguration(canonicalJSON: try r[3].decode(String.self)),
            sourceID: try r[4].decode(Int64.self), sourceName: try r[5].decode(String.self),
            sourceVersion: try r[6].decode(Int.self), sourceChecksum: try r[7].decode(String.self),
            totalItems: try r[8].decode(Int.self), completedCount: try r[9].decode(Int.self),
            failedCount: try r[10].decode(Int.self), lastProgressAt: try r[11].decode(Date?.self),
            estimatedCompletionAt: try r[12].decode(Date?.self), startedAt: try r[13].decode(Date.self),
            finishedAt: try r[14].decode(Date?.self), finalMetrics: metrics)
    }

    static func sourceVersion(_ row: PostgresRow) throws -> SourceVersion {
        let r = row.makeRandomAccess()
        let columns = try r[4].decode(String.self)
        return SourceVersion(
            id: try r[0].decode(Int64.self), name: try r[1].decode(String.self), version: try r[2].decode(Int.self),
            format: SourceFile.Format(rawValue: try r[3].decode(String.self)) ?? .csv,
            idColumns: (try? JSONDecoder().decode([String].self, from: Data(columns.utf8))) ?? [],
            checksum: try r[5].decode(String.self), itemCount: try r[6].decode(Int.self),
            ingestedAt: try r[7].decode(Date.self))
    }

    /// The error for a run id that is not in the store.
    public static func notFound(_ id: String) -> DurableRunStoreError {
        .runNotFound(id, operation: "find run", listing: "--store URL")
    }
}
