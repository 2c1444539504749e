import Foundation

/// The outcome of one item, to be recorded: its output JSON, or its error.
///
/// Recording is an upsert on `(run_id, item_id)`: a second result for the same item replaces the first and
/// increments `attempt_count`; it never adds a row. A success clears `error_occurred` and `error_category` and
/// keeps `first_error_message` and `last_error_message` as history.
///
/// ```swift
/// let ok = ItemResult(itemID: item.id, output: #"{"label":"fall"}"#)
/// let bad = ItemResult(itemID: item.id, error: ItemFailure(message: "exit status 2", category: "command"))
/// ```
public struct ItemResult: Sendable, Equatable {
    /// The item (``SourceItem/id``).
    public var itemID: Int64
    /// The result's JSON text, for a success.
    public var output: String?
    /// The failure, for an error.
    public var error: ItemFailure?
    /// When the attempt ended.
    public var attemptedAt: Date
    /// Attempts this result took within the session (1, or more after retries); `attempt_count` grows by it.
    public var attempts: Int = 1
    /// The first failed attempt's message when the item was retried (recorded as `first_error_message` unless an
    /// earlier session recorded one).
    public var firstErrorMessage: String?

    /// A successful result.
    public init(itemID: Int64, output: String, attemptedAt: Date = Date()) {
        self.itemID = itemID
        self.output = output
        self.error = nil
        self.attemptedAt = attemptedAt
    }

    /// An error result.
    public init(itemID: Int64, error: ItemFailure, attemptedAt: Date = Date()) {
        self.itemID = itemID
        self.output = nil
        self.error = error
        self.attemptedAt = attemptedAt
    }
}
