import DurableIO

/// How a session of a run ended: finalized (the run is `completed` or `failed`), or stopped by a request (the run
/// stays `running` and is resumed later).
///
/// ```swift
/// let outcome = try await runner.resume(runID: id, request: request, options: options, process: process)
/// if let reason = outcome.stoppedBy { print("stopped by \(reason); \(outcome.run.missingCount) items left") }
/// ```
public struct RunOutcome: Sendable {
    /// The run after the session.
    public var run: RunRecord
    /// Items already done before this session (not processed again).
    public var skipped: Int
    /// Items processed and recorded in this session.
    public var processed: Int
    /// Of those, successes.
    public var succeeded: Int
    /// Of those, errors.
    public var failed: Int
    /// Items started but not recorded because a forced stop killed them (they are redone by the next session).
    public var abandoned: Int
    /// Seconds this session took.
    public var seconds: Double
    /// Set when a stop request ended the session before the work was done; the run was not finalized.
    public var stoppedBy: StopRequest.Reason?
    /// This session's failure messages, counted (`FailureTally.summary(limit:)`: the most common ones).
    public var failures = FailureTally()

    /// Whether the run was finalized as completed.
    public var isCompleted: Bool { stoppedBy == nil && run.status == .completed }

    /// Creates an outcome.
    public init(
        run: RunRecord, skipped: Int, processed: Int, succeeded: Int, failed: Int, abandoned: Int, seconds: Double,
        stoppedBy: StopRequest.Reason?
    ) {
        self.run = run
        self.skipped = skipped
        self.processed = processed
        self.succeeded = succeeded
        self.failed = failed
        self.abandoned = abandoned
        self.seconds = seconds
        self.stoppedBy = stoppedBy
    }
}
