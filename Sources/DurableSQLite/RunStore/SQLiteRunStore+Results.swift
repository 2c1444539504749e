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
            var after = position ?? -1
            switch selection {
            case .missingOnly:
                // Every item below the run's frontier has a result: the anti-join starts there, not at the
                // source's first item (with 6M of 10M done, probing the done ones took 4 s before the first page).
                let frontier = try Int.fetchOne(
                    db, sql: "SELECT results_complete_below FROM runs WHERE id = ?", arguments: [id]) ?? 0
                after = max(after, frontier - 1)
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
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: [run.sourceID, after, id, max(0, limit)])
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
            let before = try db.cachedStatement(sql: "SELECT error_occurred FROM results WHERE run_id = ? AND item_id = ?")
            var counts = CountChange()
            for result in results {
                let at = Timestamp.string(result.attemptedAt)
                counts.record(was: try Bool.fetchOne(before, arguments: [id, result.itemID]), now: result.error != nil)
                try upsert.execute(arguments: [
                    id, result.itemID, result.output, result.error == nil ? 0 : 1, result.attempts,
                    result.firstErrorMessage ?? result.error?.message, result.error?.message, result.error?.category, at, at,
                ])
            }
            try db.execute(
                sql: "UPDATE runs SET completed_count = completed_count + ?, failed_count = failed_count + ? WHERE id = ?",
                arguments: [counts.succeeded, counts.failed, id])
            try Self.advanceFrontier(db, runID: id)
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

    /// Moves the run's frontier (`results_complete_below`: every item at a lower position has a result) up to the
    /// first item without one. Results are never removed, so it only moves up, and each commit probes only the
    /// items committed since the last (or one item, when the lowest is still being worked on).
    static func advanceFrontier(_ db: Database, runID id: String) throws {
        try db.execute(
            sql: """
                UPDATE runs SET results_complete_below = COALESCE(
                    (SELECT i.position FROM source_items AS i
                     WHERE i.source_id = runs.source_id AND i.position >= runs.results_complete_below
                       AND NOT EXISTS (SELECT 1 FROM results AS r WHERE r.run_id = runs.id AND r.item_id = i.id)
                     ORDER BY i.position LIMIT 1),
                    runs.total_items)
                WHERE id = ?
                """,
            arguments: [id])
    }

    /// How a commit changes the run's counts of successes and errors: each result replaces the item's earlier one,
    /// if any. Kept by difference, not recounted: a recount at each commit scanned every result of the run (0.45 s
    /// a commit with 6M done).
    struct CountChange {
        var succeeded = 0
        var failed = 0

        /// `was`: whether the item's earlier result was an error (nil: it had none); `now`: whether this one is.
        mutating func record(was: Bool?, now: Bool) {
            switch was {
            case nil: break
            case true?: failed -= 1
            case false?: succeeded -= 1
            }
            if now { failed += 1 } else { succeeded += 1 }
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
