/// Chooses each batch's row limit: fixed, or sized toward a target batch time the way pt-online-schema-change's
/// `--chunk-time` does — a decaying average of rows per second times the target, growth capped at doubling per
/// batch, and an immediate shrink when a batch runs long (more than 1.5 × the target).
///
/// ```swift
/// var sizer = BatchSizer(options)
/// let rows = sizer.size
/// sizer.record(rows: rows, seconds: 0.031)
/// ```
struct BatchSizer {
    /// The row limit for the next batch.
    private(set) var size: Int
    private let target: Double?
    private let minimum: Int
    private let maximum: Int
    /// Rows per second, a decaying average (weight 0.3 for the newest batch).
    private(set) var rowsPerSecond: Double?

    init(_ options: BackfillOptions) {
        switch options.batchSizing {
        case .fixed(let rows):
            size = rows
            target = nil
            minimum = rows
            maximum = rows
        case .targetTime(let time):
            target = time.seconds
            minimum = options.minimumBatchSize
            maximum = options.maximumBatchSize
            size = min(max(options.initialBatchSize, options.minimumBatchSize), options.maximumBatchSize)
        }
    }

    /// Learns from a batch that took `seconds` with a limit of `rows`.
    mutating func record(rows: Int, seconds: Double) {
        guard let target, rows > 0 else { return }
        let observed = Double(rows) / max(seconds, 1e-4)
        if seconds > target * 1.5 {
            // Ran long: shrink at once to what would have fit, and forget the older, faster average.
            rowsPerSecond = observed
            size = clamp(Int(Double(rows) * target / max(seconds, 1e-4)))
            return
        }
        let average = rowsPerSecond.map { 0.3 * observed + 0.7 * $0 } ?? observed
        rowsPerSecond = average
        size = clamp(min(Int(average * target), size * 2))
    }

    private func clamp(_ value: Int) -> Int { min(max(value, minimum), maximum) }
}

import DurableIO
