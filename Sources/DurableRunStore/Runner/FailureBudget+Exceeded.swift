import DurableIO

extension FailureBudget {
    /// The error a session throws once it stopped starting items because `failed` items failed in it, past the
    /// budget (a share of the run's `items`): the finished results are committed and the run is left `running`, to
    /// be resumed after the cause is fixed.
    func exceeded(
        failed: Int, of items: Int, runID: String, operation: String, failures: FailureTally = FailureTally()
    ) -> DurableRunStoreError {
        DurableRunStoreError(
            .failureBudgetExceeded, operation: operation,
            message: "\(failed) items failed in this session, past --max-failures (\(describe(items: items))); stopped starting new items\(failures.summary().map { "; \($0)" } ?? "")",
            hint: "Every finished result is committed and run \(runID) stays running; see the errors (durable-resume status), fix the cause, and resume it.")
    }
}
