/// How many failed items a session tolerates before it stops starting new ones: a count, or a share of the items
/// pending when the session started (the same meaning as durable-extract's `--max-failures`).
///
/// ```swift
/// var options = ResumableRunner.Options(jobs: 4)
/// options.failureBudget = .fraction(0.05)   // stop once more than 5% of the pending items failed
/// ```
public enum FailureBudget: Sendable, Equatable, CustomStringConvertible {
    /// At most this many failed items.
    case count(Int)
    /// At most this fraction (0…1) of the items pending at the start of the session.
    case fraction(Double)

    /// Whether `failed` failures among `pending` items are within the budget.
    public func allows(_ failed: Int, of pending: Int) -> Bool {
        switch self {
        case .count(let n): return failed <= n
        case .fraction(let f): return Double(failed) <= f * Double(pending)
        }
    }

    public var description: String {
        switch self {
        case .count(let n): return "\(n) items"
        case .fraction(let f): return "\((f * 100).formatted())% of the pending items"
        }
    }

    /// The error a session throws once it stopped starting items because `failed` of `pending` failed: the
    /// finished results are committed and the run is left `running`, to be resumed after the cause is fixed.
    func exceeded(failed: Int, of pending: Int, runID: String, operation: String) -> DurableRunStoreError {
        DurableRunStoreError(
            .failureBudgetExceeded, operation: operation,
            message: "\(failed) of \(pending) pending items failed, past --max-failures (\(self)); stopped starting new items",
            hint: "Every finished result is committed and run \(runID) stays running; see the errors (durable-resume status), fix the cause, and resume it.")
    }
}
