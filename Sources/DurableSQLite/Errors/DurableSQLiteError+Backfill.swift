extension DurableSQLiteError {
    /// A backfill's error: the backfill and the database are named in the operation, e.g.
    /// `backfill 'tx_last_seen_v1' batch 17 in app.db failed: …`.
    ///
    /// A failure while the backfill runs — in any query, including those before the first batch — is recorded as
    /// ``BackfillStatus/failed`` with the message before the error is thrown (code ``Code/queryFailed``, or
    /// ``Code/invalidDefinition`` when the database shows the definition cannot work). Row contents never appear.
    static func backfill(
        _ code: Code, operation: String, backfill: String?, database: String, message: String, hint: String? = nil
    ) -> DurableSQLiteError {
        DurableSQLiteError(
            code, operation: "backfill\(backfill.map { " '\($0)'" } ?? "") \(operation) in \(database)", message: message,
            hint: hint)
    }
}
