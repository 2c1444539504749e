import DurableRunStore
import Foundation
import PostgresNIO

extension PostgresRunStore {
    public func results(ofRun id: String) async throws -> RunResults {
        let logger = self.logger
        // REPEATABLE READ: the run's counts and the results come from one snapshot while workers commit.
        return try await transaction("read the results of run \(id)") { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            guard let run = try await Self.fetchRun(connection, id: id, logger: logger) else { throw Self.notFound(id) }
            let rows = try await Self.collect(try await connection.query(
                """
                SELECT i.item_key, i.position, r.error_occurred, r.output, r.last_error_message, r.error_category,
                       r.attempt_count, r.last_attempt_at
                FROM results AS r JOIN source_items AS i ON i.id = r.item_id
                WHERE r.run_id = \(id)
                ORDER BY i.position
                """, logger: logger))
            return RunResults(run: run, results: try rows.map { row in
                let (key, position, failed, output, message, category, attempts, at) = try row.decode(
                    (String, Int, Int, String?, String?, String?, Int, Date?).self)
                return RecordedResult(
                    itemKey: key, position: position, status: failed == 0 ? .succeeded : .failed, output: output,
                    errorMessage: failed == 0 ? nil : message, errorCategory: failed == 0 ? nil : category,
                    attempts: attempts, lastAttemptAt: at)
            })
        }
    }
}
