import DurableRunStore
import Foundation
import PostgresNIO

extension PostgresRunStore {
    /// One statement, so one transaction: pick up to `limit` claimable items (`FOR UPDATE SKIP LOCKED`: items
    /// another worker is claiming this instant are skipped, not waited for), lease them with fresh fencing tokens,
    /// and record the worker's heartbeat.
    public func claim(runID: String, worker: WorkerIdentity, limit: Int, lease: Duration) async throws -> [ClaimedItem] {
        let seconds = lease.seconds
        return try await rows(
            "claim",
            """
            WITH run AS (SELECT id FROM runs WHERE id = \(runID) AND status = 'running'),
            picked AS (
                SELECT ri.item_id FROM run_items AS ri
                WHERE ri.run_id = (SELECT id FROM run) AND NOT ri.done
                  AND (ri.lease_expires_at IS NULL OR ri.lease_expires_at < now())
                ORDER BY ri.position
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED),
            leased AS (
                UPDATE run_items AS ri SET lease_worker = \(worker.id), lease_token = nextval('lease_tokens'),
                       lease_expires_at = now() + make_interval(secs => \(seconds)), claims = ri.claims + 1
                FROM picked WHERE ri.run_id = \(runID) AND ri.item_id = picked.item_id
                RETURNING ri.item_id, ri.lease_token),
            heartbeat AS (
                INSERT INTO workers (run_id, worker_id, host, pid, joined_at, last_heartbeat_at, expires_at, claimed)
                SELECT id, \(worker.id), \(worker.host), \(Int(worker.pid)), now(), now(),
                       now() + make_interval(secs => \(seconds)), (SELECT count(*) FROM leased)
                FROM run
                ON CONFLICT (run_id, worker_id) DO UPDATE SET
                    last_heartbeat_at = now(), expires_at = excluded.expires_at, left_at = NULL,
                    claimed = workers.claimed + excluded.claimed)
            SELECT i.id, i.item_key, i.position, i.data, l.lease_token
            FROM leased AS l JOIN source_items AS i ON i.id = l.item_id
            ORDER BY i.position
            """
        ).map { row in
            let (id, key, position, data, token) = try row.decode((Int64, String, Int, String, Int64).self)
            return ClaimedItem(item: SourceItem(id: id, key: key, position: position, json: data), token: token)
        }
    }

    /// Extends the worker's unexpired leases (an expired one may already be another worker's: it is not revived).
    public func renewLeases(runID: String, worker: WorkerIdentity, lease: Duration) async throws -> Int {
        let seconds = lease.seconds
        return try await rows(
            "renew leases",
            """
            WITH renewed AS (
                UPDATE run_items SET lease_expires_at = now() + make_interval(secs => \(seconds))
                WHERE run_id = \(runID) AND lease_worker = \(worker.id) AND NOT done AND lease_expires_at >= now()
                RETURNING 1),
            heartbeat AS (
                UPDATE workers SET last_heartbeat_at = now(), expires_at = now() + make_interval(secs => \(seconds))
                WHERE run_id = \(runID) AND worker_id = \(worker.id) AND left_at IS NULL)
            SELECT count(*) FROM renewed
            """
        ).first?.decode(Int.self) ?? 0
    }

    /// Records each result only if `worker` still holds its lease — same worker, same token, not expired by the
    /// database's clock — in the same statement that marks the item done; refused results are counted on the
    /// run and the worker. The batch travels as one JSON parameter (`jsonb_to_recordset`): one statement per batch,
    /// not one per result. Counts are kept incrementally (from each item's previous result), the ETA is the
    /// remaining items over the summed rate of the live workers.
    public func commit(
        _ results: [ItemResult], leases: [Int64: Int64], forRun id: String, worker: WorkerIdentity,
        progress: ProgressUpdate
    ) async throws -> LeasedCommit {
        // An item twice in one batch (claimed again after its lease expired) goes in a later round: one statement
        // must not upsert a row twice.
        var rounds: [[ItemResult]] = []
        var seen: [Set<Int64>] = []
        for result in results {
            if let index = seen.firstIndex(where: { !$0.contains(result.itemID) }) {
                rounds[index].append(result)
                seen[index].insert(result.itemID)
            } else {
                rounds.append([result])
                seen.append([result.itemID])
            }
        }
        let batches = try rounds.map { try Self.batchJSON($0, leases: leases) }
        let logger = self.logger
        return try await transaction("commit") { connection in
            var recorded: [Int64] = []
            var completedDelta = 0
            var failedDelta = 0
            for batch in batches {
                let rows = try await Self.collect(
                    try await connection.query(
                        """
                        WITH batch AS (
                            SELECT * FROM jsonb_to_recordset(\(batch)::jsonb) AS x(
                                item_id BIGINT, token BIGINT, output TEXT, failed INTEGER, message TEXT, category TEXT,
                                attempted_at TIMESTAMPTZ, attempts INTEGER, first_message TEXT)),
                        accepted AS (
                            UPDATE run_items AS ri SET done = true, lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
                            FROM batch
                            WHERE ri.run_id = \(id) AND ri.item_id = batch.item_id AND ri.lease_worker = \(worker.id)
                              AND ri.lease_token = batch.token AND ri.lease_expires_at >= now() AND NOT ri.done
                            RETURNING ri.item_id),
                        prior AS (
                            SELECT r.item_id, r.error_occurred FROM results AS r JOIN accepted AS a ON a.item_id = r.item_id
                            WHERE r.run_id = \(id)),
                        recorded AS (
                            INSERT INTO results (run_id, item_id, output, error_occurred, attempt_count, first_error_message,
                                                 last_error_message, error_category, last_attempt_at, created_at, recorded_by)
                            SELECT \(id), b.item_id, b.output, b.failed, b.attempts, COALESCE(b.first_message, b.message), b.message,
                                   b.category, b.attempted_at,
                                   b.attempted_at, \(worker.id)
                            FROM batch AS b JOIN accepted AS a ON a.item_id = b.item_id
                            ON CONFLICT (run_id, item_id) DO UPDATE SET
                                output = excluded.output,
                                error_occurred = excluded.error_occurred,
                                attempt_count = results.attempt_count + excluded.attempt_count,
                                first_error_message = COALESCE(results.first_error_message, excluded.first_error_message),
                                last_error_message = COALESCE(excluded.last_error_message, results.last_error_message),
                                error_category = excluded.error_category,
                                last_attempt_at = excluded.last_attempt_at,
                                recorded_by = excluded.recorded_by
                            RETURNING item_id, error_occurred)
                        SELECT r.item_id, r.error_occurred, p.error_occurred
                        FROM recorded AS r LEFT JOIN prior AS p ON p.item_id = r.item_id
                        """, logger: logger))
                for row in rows {
                    let (item, now, before) = try row.decode((Int64, Int, Int?).self)
                    recorded.append(item)
                    switch before {
                    case 0: completedDelta -= 1
                    case 1: failedDelta -= 1
                    default: break
                    }
                    if now == 1 { failedDelta += 1 } else { completedDelta += 1 }
                }
            }
            let recordedSet = Set(recorded)
            var refused: [Int64] = []
            var counted = Set<Int64>()
            for result in results where !recordedSet.contains(result.itemID) || !counted.insert(result.itemID).inserted {
                refused.append(result.itemID)
            }
            try await connection.query(
                """
                UPDATE workers SET recorded = recorded + \(recorded.count), refused = refused + \(refused.count),
                                   last_heartbeat_at = now()
                WHERE run_id = \(id) AND worker_id = \(worker.id)
                """, logger: logger)
            try await connection.query(
                """
                WITH rate AS (
                    SELECT COALESCE(SUM(recorded / GREATEST(EXTRACT(EPOCH FROM now() - joined_at), 1)), 0) AS per_second
                    FROM workers WHERE run_id = \(id) AND left_at IS NULL AND expires_at > now())
                UPDATE runs SET
                    completed_count = completed_count + \(completedDelta),
                    failed_count = failed_count + \(failedDelta),
                    refused_count = refused_count + \(refused.count),
                    last_progress_at = now(),
                    estimated_completion_at = CASE WHEN rate.per_second > 0 THEN
                        now() + make_interval(secs => GREATEST(total_items - completed_count - failed_count
                                                               - \(completedDelta + failedDelta), 0) / rate.per_second)
                        END
                FROM rate
                WHERE id = \(id)
                """, logger: logger)
            guard let run = try await Self.fetchRun(connection, id: id, logger: logger) else { throw Self.notFound(id) }
            return LeasedCommit(run: run, recorded: recorded, refused: refused)
        }
    }

    /// One batch as the JSON array `jsonb_to_recordset` reads.
    private static func batchJSON(_ results: [ItemResult], leases: [Int64: Int64]) throws -> String {
        struct Row: Encodable {
            var item_id: Int64
            var token: Int64
            var output: String?
            var failed: Int
            var message: String?
            var category: String?
            var attempted_at: String
            var attempts: Int
            var first_message: String?
        }
        let time = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        // PostgreSQL text cannot hold NUL: a command's stderr may (it is replaced by U+FFFD).
        let clean = { (text: String?) in text?.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") }
        let rows = results.map { r in
            Row(
                item_id: r.itemID, token: leases[r.itemID] ?? -1, output: clean(r.output), failed: r.error == nil ? 0 : 1,
                message: clean(r.error?.message), category: clean(r.error?.category), attempted_at: r.attemptedAt.formatted(time),
                attempts: r.attempts, first_message: clean(r.firstErrorMessage))
        }
        return String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
    }

    public func reopenErrors(runID: String) async throws -> Int {
        try await rows(
            "reopen errored items",
            """
            WITH reopened AS (
                UPDATE run_items AS ri SET done = false, lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
                FROM results AS r
                WHERE ri.run_id = \(runID) AND r.run_id = \(runID) AND r.item_id = ri.item_id AND r.error_occurred = 1
                  AND ri.done
                RETURNING 1)
            SELECT count(*) FROM reopened
            """
        ).first?.decode(Int.self) ?? 0
    }

    public func hasUnfinishedItems(runID: String) async throws -> Bool {
        try await rows("check remaining items", "SELECT EXISTS (SELECT 1 FROM run_items WHERE run_id = \(runID) AND NOT done)")
            .first?.decode(Bool.self) ?? false
    }

    public func leave(runID: String, worker: WorkerIdentity) async throws {
        try await transaction("leave run") { connection in
            try await connection.query(
                """
                UPDATE run_items SET lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
                WHERE run_id = \(runID) AND lease_worker = \(worker.id) AND NOT done
                """, logger: self.logger)
            try await connection.query(
                "UPDATE workers SET left_at = now(), expires_at = now() WHERE run_id = \(runID) AND worker_id = \(worker.id)",
                logger: self.logger)
        }
    }

    public func workers(runID: String) async throws -> [WorkerRecord] {
        try await rows(
            "read workers",
            """
            SELECT worker_id, host, pid, joined_at, last_heartbeat_at, expires_at, left_at IS NOT NULL,
                   left_at IS NULL AND expires_at > now(), claimed, recorded, refused
            FROM workers WHERE run_id = \(runID)
            ORDER BY (left_at IS NULL AND expires_at > now()) DESC, joined_at, worker_id
            """
        ).map { row in
            let r = row.makeRandomAccess()
            return WorkerRecord(
                identity: WorkerIdentity(id: try r[0].decode(String.self), host: try r[1].decode(String.self), pid: Int32(try r[2].decode(Int.self))),
                joinedAt: try r[3].decode(Date.self), lastHeartbeatAt: try r[4].decode(Date.self),
                expiresAt: try r[5].decode(Date.self), left: try r[6].decode(Bool.self), isLive: try r[7].decode(Bool.self),
                claimed: try r[8].decode(Int.self), recorded: try r[9].decode(Int.self), refused: try r[10].decode(Int.self))
        }
    }

    /// Results refused over the run's life (their lease had expired or been taken).
    public func refusedCount(runID: String) async throws -> Int {
        try await rows("read run", "SELECT refused_count FROM runs WHERE id = \(runID)").first?.decode(Int.self) ?? 0
    }
}
