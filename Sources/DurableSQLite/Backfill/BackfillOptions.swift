/// How a backfill paces itself: batch size, the yield between batches, and WAL checkpoints.
///
/// The defaults suit a database an application is using: batches sized toward 50 ms, each followed by a pause half
/// as long as the batch took (nice ratio 0.5: the backfill holds the writer at most about two thirds of the time, and
/// the application's writer waits at most one batch — measured in `Documentation/Benchmarks.md`: the smallest ratio
/// that kept that writer's p99 under 100 ms, in either journal mode), and a
/// `TRUNCATE` checkpoint whenever the WAL passes 64 MiB. The options are recorded with the backfill, so a resume
/// paces itself the same way.
///
/// ```swift
/// var options = BackfillOptions()
/// options.batchSizing = .fixed(rows: 1_000)
/// options.fixedYield = .milliseconds(20)
/// ```
public struct BackfillOptions: Sendable, Codable, Equatable {
    /// How many rows each batch takes.
    public enum BatchSizing: Sendable, Codable, Equatable {
        /// The same number of rows every batch.
        case fixed(rows: Int)
        /// Sized toward this time per batch: start at ``BackfillOptions/initialBatchSize``, grow from a decaying
        /// average of rows per second (at most doubling per batch), shrink at once when a batch runs long.
        case targetTime(Duration)
    }

    /// Default: `.targetTime(.milliseconds(50))`.
    public var batchSizing: BatchSizing = .targetTime(.milliseconds(50))
    /// Pause after each batch for this multiple of the batch's own time (as gh-ost's `--nice-ratio`). Default 0.5.
    public var niceRatio: Double = 0.5
    /// A fixed pause after each batch, added to the proportional one. Default none.
    public var fixedYield: Duration = .zero
    /// A batch's key range holds at most about this many times its row limit of existing rows, so a selective
    /// predicate cannot make one batch scan far. Default 4.
    public var maxScanFactor: Double = 4
    /// How long a query waits for another connection's lock before failing with `SQLITE_BUSY`. Default 5 s.
    public var busyTimeout: Duration = .seconds(5)
    /// In WAL mode, checkpoint (`TRUNCATE`) between batches once the WAL file is larger than this. Default 64 MiB.
    public var checkpointThreshold: Int = 64 << 20
    /// How long a checkpoint waits for readers before giving up until the next batch. Default 100 ms.
    public var checkpointBusyTimeout: Duration = .milliseconds(100)
    /// The first batch's rows under `.targetTime`. Default 100.
    public var initialBatchSize: Int = 100
    /// The smallest batch under `.targetTime`. Default 10.
    public var minimumBatchSize: Int = 10
    /// The largest batch under `.targetTime`. Default 50,000.
    public var maximumBatchSize: Int = 50_000

    /// The defaults.
    public init() {}

    /// Throws when an option is out of range.
    func validate(backfill: String, database: String) throws(DurableSQLiteError) {
        var problems: [String] = []
        switch batchSizing {
        case .fixed(let rows) where rows < 1: problems.append("the batch size must be at least 1 (got \(rows))")
        case .targetTime(let time) where time <= .zero: problems.append("the target batch time must be positive")
        default: break
        }
        if !(niceRatio >= 0) || niceRatio > 1_000 { problems.append("the nice ratio must be between 0 and 1000 (got \(niceRatio))") }
        if fixedYield < .zero { problems.append("the yield must not be negative") }
        if !(maxScanFactor >= 1) { problems.append("the scan factor must be at least 1") }
        if minimumBatchSize < 1 || maximumBatchSize < minimumBatchSize || initialBatchSize < 1 {
            problems.append("the batch size limits are inconsistent (\(minimumBatchSize)…\(maximumBatchSize), first \(initialBatchSize))")
        }
        guard problems.isEmpty else {
            throw DurableSQLiteError.backfill(
                .invalidDefinition, operation: "check the options", backfill: backfill, database: database,
                message: problems.joined(separator: "; "), hint: "Change the options and run again; nothing was written.")
        }
    }
}
