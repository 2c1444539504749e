import DurableIO

/// One failed attempt at an item, as recorded in `<out>.errors.jsonl`: the item's key, what went wrong and which
/// attempt it was. The errors ledger is never the done ledger, so the next run retries the item.
///
/// ```swift
/// let failures = try Ledger<FailedAttempt>.recover(at: run.errorsPath).entries
/// ```
public struct FailedAttempt: Codable, Sendable, Equatable {
    /// The item.
    public var key: RecordKey
    /// What went wrong (the error's description).
    public var message: String
    /// Which attempt this was (1 for the first).
    public var attempt: Int

    /// Creates a record.
    public init(key: RecordKey, message: String, attempt: Int) {
        self.key = key
        self.message = message
        self.attempt = attempt
    }
}
