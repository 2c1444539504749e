import DurableIO

/// How one worker's session on a shared run ended.
///
/// ```swift
/// let outcome = try await worker.work(runID: id, process: process)
/// print("\(outcome.recorded) recorded, \(outcome.refused) refused (lease lost), run \(outcome.run.status)")
/// ```
public struct WorkerOutcome: Sendable {
    /// The run as this worker last saw it (finalized when ``finalized``, or by another worker).
    public var run: RunRecord
    /// Items this worker processed (attempted to the end).
    public var processed: Int
    /// Of those, successes and errors.
    public var succeeded: Int
    /// Errors among the processed items.
    public var failed: Int
    /// Results this worker recorded.
    public var recorded: Int
    /// Results refused because the lease had expired or been taken (another worker redoes or did the item).
    public var refused: Int
    /// Items started but killed by a forced stop (not recorded; their leases were released).
    public var abandoned: Int
    /// Seconds this session took.
    public var seconds: Double
    /// Whether this worker finalized the run (the last one to see it finished does).
    public var finalized: Bool
    /// Set when a stop request ended the session before the run's work was done.
    public var stoppedBy: StopRequest.Reason?

    /// An outcome.
    public init(
        run: RunRecord, processed: Int, succeeded: Int, failed: Int, recorded: Int, refused: Int, abandoned: Int,
        seconds: Double, finalized: Bool, stoppedBy: StopRequest.Reason?
    ) {
        self.run = run
        self.processed = processed
        self.succeeded = succeeded
        self.failed = failed
        self.recorded = recorded
        self.refused = refused
        self.abandoned = abandoned
        self.seconds = seconds
        self.finalized = finalized
        self.stoppedBy = stoppedBy
    }
}
