import DurableRunStore
import Foundation
import GRDB

extension SQLiteRunStore {
    public func results(ofRun id: String) async throws -> RunResults {
        // One read transaction: the run's counts and the results are of the same moment, while a session commits.
        try await reading("read the results of run \(id)") { db in
            guard let run = try Self.fetchRun(db, id: id) else { throw Self.notFound(id) }
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT i.item_key, i.position, r.error_occurred, r.output, r.last_error_message, r.error_category,
                           r.attempt_count, r.last_attempt_at
                    FROM results AS r JOIN source_items AS i ON i.id = r.item_id
                    WHERE r.run_id = ?
                    ORDER BY i.position
                    """,
                arguments: [id])
            var results: [RecordedResult] = []
            while let row = try cursor.next() {
                let failed: Int = row[2]
                results.append(RecordedResult(
                    itemKey: row[0], position: row[1], status: failed == 0 ? .succeeded : .failed,
                    output: row[3], errorMessage: failed == 0 ? nil : row[4], errorCategory: failed == 0 ? nil : row[5],
                    attempts: row[6], lastAttemptAt: Timestamp.date(row[7])))
            }
            return RunResults(run: run, results: results)
        }
    }
}
