import Foundation

/// One item's recorded result as a store holds it, for reading back (`durable-resume export`): the item's id from
/// the source, whether it succeeded, its output or its last error, and how many attempts it took over the run.
///
/// ```swift
/// let results = try await store.results(ofRun: id)
/// for r in results.results where r.status == .failed { print(r.itemKey, r.errorMessage ?? "") }
/// ```
public struct RecordedResult: Sendable, Equatable {
    /// Whether the item's last recorded attempt succeeded.
    public enum Status: String, Sendable, Codable {
        /// The result holds the command's output.
        case succeeded
        /// The result holds an error (`error_occurred = 1`).
        case failed
    }

    /// The item's id in the source (``SourceItem/key``): the value of its id column(s).
    public var itemKey: String
    /// The item's position in the source (0-based): the order results are read in.
    public var position: Int
    /// Succeeded or failed.
    public var status: Status
    /// The output's JSON text, for a success.
    public var output: String?
    /// The last error's message, for a failure (kept as history after a later success only in the store).
    public var errorMessage: String?
    /// The last error's category (`command`, `timeout`, …), for a failure.
    public var errorCategory: String?
    /// Attempts over the run's life (`attempt_count`).
    public var attempts: Int
    /// When the last attempt ended, when known.
    public var lastAttemptAt: Date?

    /// A result as read back.
    public init(
        itemKey: String, position: Int, status: Status, output: String?, errorMessage: String?, errorCategory: String?,
        attempts: Int, lastAttemptAt: Date?
    ) {
        self.itemKey = itemKey
        self.position = position
        self.status = status
        self.output = output
        self.errorMessage = errorMessage
        self.errorCategory = errorCategory
        self.attempts = attempts
        self.lastAttemptAt = lastAttemptAt
    }
}

/// Every recorded result of a run, read in one snapshot together with the run: `run.completedCount +
/// run.failedCount` is the store's own count of the results, which an export checks its file against.
///
/// ```swift
/// let read = try await store.results(ofRun: id)
/// assert(read.results.count == read.run.completedCount + read.run.failedCount)
/// ```
public struct RunResults: Sendable, Equatable {
    /// The run, as it was when the results were read.
    public var run: RunRecord
    /// Its results in source order.
    public var results: [RecordedResult]

    /// The run and its results.
    public init(run: RunRecord, results: [RecordedResult]) {
        self.run = run
        self.results = results
    }

    /// The store's count of the run's results (its counts columns, updated in each commit's transaction).
    public var storedCount: Int { run.completedCount + run.failedCount }
}
