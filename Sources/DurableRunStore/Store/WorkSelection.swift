/// Which items of a run are still to do.
///
/// ```swift
/// let items = try await store.remainingItems(forRun: id, selection: .retryErrorsOnly)
/// ```
public enum WorkSelection: String, Sendable, Codable {
    /// Items with no result for the run (the default: completed items are never redone).
    case missingOnly = "missing-only"
    /// Items whose result is an error (`error_occurred = 1`); items with no result are left alone.
    case retryErrorsOnly = "retry-errors-only"
}
