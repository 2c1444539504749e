import DurableRunStore
import Foundation
import GRDB

extension SQLiteRunStore {
    public func remainingItems(
        forRun id: String, selection: WorkSelection, after position: Int?, limit: Int
    ) async throws -> [SourceItem] {
        try await reading("read the items left in run \(id)") { db in
            guard let run = try Self.fetchRun(db, id: id) else { throw Self.notFound(id) }
            let sql: String
            switch selection {
            case .missingOnly:
                sql = """
                    SELECT i.id, i.item_key, i.position, i.data FROM source_items AS i
                    WHERE i.source_id = ? AND i.position > ?
                      AND NOT EXISTS (SELECT 1 FROM results AS r WHERE r.run_id = ? AND r.item_id = i.id)
                    ORDER BY i.position LIMIT ?
                    """
            case .retryErrorsOnly:
                sql = """
                    SELECT i.id, i.item_key, i.position, i.data FROM results AS r
                    JOIN source_items AS i ON i.id = r.item_id
                    WHERE i.source_id = ? AND i.position > ? AND r.run_id = ? AND r.error_occurred = 1
                    ORDER BY i.position LIMIT ?
                    """
            }
            var items: [SourceItem] = []
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: [run.sourceID, position ?? -1, id, max(0, limit)])
            while let row = try cursor.next() {
                items.append(SourceItem(id: row[0], key: row[1], position: row[2], json: row[3]))
            }
            return items
        }
    }

    public func commit(_ results: [ItemResult], forRun id: String, progress: ProgressUpdate) async throws -> RunRecord {
        try await writing("commit \(results.count) results of run \(id)") { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO results (run_id, item_id, output, error_occurred, attempt_count, first_error_message,
                                     last_error_message, error_category, last_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (run_id, item_id) DO UPDATE SET
                    output = excluded.output,
                    error_occurred = excluded.error_occurred,
                    attempt_count = results.attempt_count + excluded.attempt_count,
                    first_error_message = COALESCE(results.first_error_message, excluded.first_error_message),
                    last_error_message = COALESCE(excluded.last_error_message, results.last_error_message),
                    error_category = excluded.error_category,
                    last_attempt_at = excluded.last_attempt_at
                """)
            for result in results {
                let at = Timestamp.string(result.attemptedAt)
                try upsert.execute(arguments: [
                    id, result.itemID, result.output, result.error == nil ? 0 : 1, result.attempts,
                    result.firstErrorMessage ?? result.error?.message, result.error?.message, result.error?.category, at, at,
                ])
            }
            try Self.updateCounts(db, runID: id)
            let eta = progress.etaSeconds.map { Timestamp.string(progress.at.addingTimeInterval($0)) }
            try db.execute(
                sql: "UPDATE runs SET last_progress_at = ?, estimated_completion_at = ? WHERE id = ?",
                arguments: [Timestamp.string(progress.at), eta, id])
            guard let run = try Self.fetchRun(db, id: id) else { throw Self.notFound(id) }
            return run
        }
    }

    public func finalize(runID id: String, session: SessionFigures, at: Date) async throws -> RunRecord {
        try await writing("finalize run \(id)") { db in
            try Self.updateCounts(db, runID: id)
            guard let run = try Self.fetchRun(db, id: id) else { throw Self.notFound(id) }
            let attempts = try Int.fetchOne(
                db, sql: "SELECT COALESCE(SUM(attempt_count), 0) FROM results WHERE run_id = ?", arguments: [id]) ?? 0
            let metrics = RunMetrics(
                totalItems: run.totalItems, succeeded: run.completedCount, failed: run.failedCount,
                missing: run.missingCount, attempts: attempts, sessionItems: session.items,
                sessionSeconds: session.seconds,
                itemsPerSecond: session.seconds > 0 ? Double(session.items) / session.seconds : 0,
                wallSeconds: at.timeIntervalSince(run.startedAt))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let status: RunStatus = run.completedCount == run.totalItems ? .completed : .failed
            try db.execute(
                sql: """
                    UPDATE runs SET status = ?, finished_at = ?, final_metrics = ?, last_progress_at = ?,
                                    estimated_completion_at = NULL
                    WHERE id = ?
                    """,
                arguments: [
                    status.rawValue, Timestamp.string(at), String(decoding: try encoder.encode(metrics), as: UTF8.self),
                    Timestamp.string(at), id,
                ])
            return try Self.fetchRun(db, id: id)!
        }
    }

    /// Recounts the run's successes and errors from its results (an index-only scan of `results_by_error`).
    static func updateCounts(_ db: Database, runID id: String) throws {
        try db.execute(
            sql: """
                UPDATE runs SET
                    completed_count = (SELECT COUNT(*) FROM results WHERE run_id = ?1 AND error_occurred = 0),
                    failed_count = (SELECT COUNT(*) FROM results WHERE run_id = ?1 AND error_occurred = 1)
                WHERE id = ?1
                """,
            arguments: [id])
    }
}
