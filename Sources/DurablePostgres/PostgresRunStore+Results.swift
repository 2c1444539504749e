import DurableRunStore
import Foundation
import PostgresNIO

extension PostgresRunStore {
    public func remainingItems(
        forRun id: String, selection: WorkSelection, after position: Int?, limit: Int
    ) async throws -> [SourceItem] {
        guard let run = try await run(id: id) else { throw Self.notFound(id) }
        let after = position ?? -1
        let limit = max(0, limit)
        let query: PostgresQuery
        switch selection {
        case .missingOnly:
            query = """
                SELECT i.id, i.item_key, i.position, i.data FROM source_items AS i
                WHERE i.source_id = \(run.sourceID) AND i.position > \(after)
                  AND NOT EXISTS (SELECT 1 FROM results AS r WHERE r.run_id = \(id) AND r.item_id = i.id)
                ORDER BY i.position LIMIT \(limit)
                """
        case .retryErrorsOnly:
            query = """
                SELECT i.id, i.item_key, i.position, i.data FROM results AS r
                JOIN source_items AS i ON i.id = r.item_id
                WHERE i.source_id = \(run.sourceID) AND i.position > \(after) AND r.run_id = \(id) AND r.error_occurred = 1
                ORDER BY i.position LIMIT \(limit)
                """
        }
        return try await rows("select remaining items", query).map(Self.sourceItem)
    }

    /// Upserts `results` (without leases: for one process on the run) and recounts the run's results, in one
    /// transaction that first locks the run's row — so a concurrent commit's results are counted by one of the two.
    public func commit(_ results: [ItemResult], forRun id: String, progress: ProgressUpdate) async throws -> RunRecord {
        let logger = self.logger
        return try await transaction("commit") { connection in
            guard try await !Self.collect(try await connection.query("SELECT 1 FROM runs WHERE id = \(id) FOR UPDATE", logger: logger)).isEmpty else {
                throw Self.notFound(id)
            }
            for result in results {
                try await connection.query(Self.upsert(result, runID: id, worker: nil), logger: logger)
                try await connection.query(
                    """
                    UPDATE run_items SET done = true, lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
                    WHERE run_id = \(id) AND item_id = \(result.itemID)
                    """, logger: logger)
            }
            let eta = progress.etaSeconds.map { progress.at.addingTimeInterval($0) }
            try await connection.query(
                """
                UPDATE runs SET
                    completed_count = (SELECT count(*) FROM results WHERE run_id = \(id) AND error_occurred = 0),
                    failed_count = (SELECT count(*) FROM results WHERE run_id = \(id) AND error_occurred = 1),
                    last_progress_at = \(progress.at), estimated_completion_at = \(eta)
                WHERE id = \(id)
                """, logger: logger)
            return try await Self.fetchRun(connection, id: id, logger: logger)!
        }
    }

    /// Finalizes a `running` run (a run already finalized — by another worker — is returned as it is).
    public func finalize(runID id: String, session: SessionFigures, at: Date) async throws -> RunRecord {
        let logger = self.logger
        return try await transaction("finalize") { connection in
            guard let status = try await Self.collect(
                try await connection.query("SELECT status FROM runs WHERE id = \(id) FOR UPDATE", logger: logger)
            ).first?.decode(String.self) else { throw Self.notFound(id) }
            if status != RunStatus.running.rawValue { return try await Self.fetchRun(connection, id: id, logger: logger)! }
            try await connection.query(
                """
                UPDATE runs SET
                    completed_count = (SELECT count(*) FROM results WHERE run_id = \(id) AND error_occurred = 0),
                    failed_count = (SELECT count(*) FROM results WHERE run_id = \(id) AND error_occurred = 1)
                WHERE id = \(id)
                """, logger: logger)
            let run = try await Self.fetchRun(connection, id: id, logger: logger)!
            let attempts = try await Self.collect(
                try await connection.query("SELECT COALESCE(SUM(attempt_count), 0)::BIGINT FROM results WHERE run_id = \(id)", logger: logger)
            ).first!.decode(Int.self)
            let metrics = RunMetrics(
                totalItems: run.totalItems, succeeded: run.completedCount, failed: run.failedCount,
                missing: run.missingCount, attempts: attempts, sessionItems: session.items,
                sessionSeconds: session.seconds,
                itemsPerSecond: session.seconds > 0 ? Double(session.items) / session.seconds : 0,
                wallSeconds: at.timeIntervalSince(run.startedAt))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let metricsText = String(decoding: try encoder.encode(metrics), as: UTF8.self)
            let final: RunStatus = run.completedCount == run.totalItems ? .completed : .failed
            try await connection.query(
                """
                UPDATE runs SET status = \(final.rawValue), finished_at = \(at), final_metrics = \(metricsText),
                                last_progress_at = \(at), estimated_completion_at = NULL
                WHERE id = \(id)
                """, logger: logger)
            return try await Self.fetchRun(connection, id: id, logger: logger)!
        }
    }

    /// The upsert of one result, the same as the SQLite store's: attempts counted, the first error kept.
    static func upsert(_ result: ItemResult, runID: String, worker: String?) -> PostgresQuery {
        let failed = result.error == nil ? 0 : 1
        return """
            INSERT INTO results (run_id, item_id, output, error_occurred, attempt_count, first_error_message,
                                 last_error_message, error_category, last_attempt_at, created_at, recorded_by)
            VALUES (\(runID), \(result.itemID), \(result.output), \(failed), \(result.attempts),
                    \(result.firstErrorMessage ?? result.error?.message), \(result.error?.message), \(result.error?.category),
                    \(result.attemptedAt), \(result.attemptedAt), \(worker))
            ON CONFLICT (run_id, item_id) DO UPDATE SET
                output = excluded.output,
                error_occurred = excluded.error_occurred,
                attempt_count = results.attempt_count + excluded.attempt_count,
                first_error_message = COALESCE(results.first_error_message, excluded.first_error_message),
                last_error_message = COALESCE(excluded.last_error_message, results.last_error_message),
                error_category = excluded.error_category,
                last_attempt_at = excluded.last_attempt_at,
                recorded_by = excluded.recorded_by
            """
    }

    static func sourceItem(_ row: PostgresRow) throws -> SourceItem {
        let (id, key, position, data) = try row.decode((Int64, String, Int, String).self)
        return SourceItem(id: id, key: key, position: position, json: data)
    }
}
