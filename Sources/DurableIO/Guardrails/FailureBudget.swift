/// How many failed items a session tolerates before it stops starting new ones: a count, or a share of the run's
/// items — all of them, not only those pending in this session, so one input that always fails does not stop every
/// later run (durable-extract and durable-resume `--max-failures N|N%`, one meaning for both).
///
/// ```swift
/// let budget = FailureBudget.fraction(0.05)
/// budget.allows(3, of: 100)   // true: 3 ≤ 5 % of 100
/// print(budget)               // 5 % of the items
/// ```
public enum FailureBudget: Sendable, Equatable, CustomStringConvertible {
    /// At most this many failed items.
    case count(Int)
    /// At most this fraction (0…1) of the items.
    case fraction(Double)

    /// Whether `failed` failures are within the budget for a run of `items` items.
    public func allows(_ failed: Int, of items: Int) -> Bool {
        switch self {
        case .count(let n): return failed <= n
        case .fraction(let f): return Double(failed) <= f * Double(items)
        }
    }

    /// The budget in words for a run of `items` items: `10 failures`, `5 % of the run's 50 items (2)`.
    public func describe(items: Int) -> String {
        switch self {
        case .count: return description
        case .fraction(let f):
            let allowed = Int((f * Double(items)).rounded(.down))
            return "\((f * 100).formatted()) % of the run's \(items.formatted()) items: \(allowed.formatted()) failure\(allowed == 1 ? "" : "s")"
        }
    }

    /// The budget in words: `10 failures`, `5 % of the items`.
    public var description: String {
        switch self {
        case .count(let n): return n == 1 ? "1 failure" : "\(n.formatted()) failures"
        case .fraction(let f): return "\((f * 100).formatted()) % of the items"
        }
    }
}
