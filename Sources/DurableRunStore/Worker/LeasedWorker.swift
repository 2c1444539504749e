import DurableIO
import Foundation
import Logging
import Synchronization

/// One worker on a run shared through a ``ClaimingRunStore``: claims a small batch of items under a lease, renews
/// its leases while it works (on a task of its own, every third of the lease), records results in batches, and
/// when nothing is left to claim and no other worker holds a lease, finalizes the run.
///
/// Start as many as you like, on as many hosts: each claims different items (`FOR UPDATE SKIP LOCKED`). A worker
/// that dies stops renewing; after its leases expire the others take its items. Its results that arrive after
/// the lease expired are refused and counted (``WorkerOutcome/refused``): an item may be attempted more than once,
/// it is recorded once. While its renewals fail (a partition from the database) the worker claims nothing new.
///
/// ```swift
/// let worker = LeasedWorker(store: store, options: .init(jobs: 4, lease: .seconds(30)))
/// let outcome = try await worker.work(runID: id) { item in try await classify(item.json) }
/// ```
public struct LeasedWorker: Sendable {
    /// How a worker runs.
    public struct Options: Sendable {
        /// Items processed at once (default 1).
        public var jobs: Int
        /// Items claimed at once (default: twice `jobs`, at least 2) — small, so a dying worker strands few.
        public var claimSize: Int?
        /// How long a lease lasts without renewal (default 30 s). Renewed every third of it.
        public var lease: Duration
        /// How long to wait before claiming again when other workers hold the remaining items.
        public var idlePause: Duration
        /// A graceful stop: no new claims; in-flight items finish (or are killed when forced); results committed;
        /// unstarted claims released.
        public var stop: StopRequest
        /// Called after every finished item with this worker's progress.
        public var progress: (@Sendable (ProgressSnapshot) -> Void)?
        /// Called for notices (refused results, lost leases, renewal failures).
        public var notice: (@Sendable (String) -> Void)?
        /// Where claims and commits (debug), refusals and finalize (info) are logged.
        public var logger: Logger
        /// How long the worker keeps retrying a store that does not answer (a server down or unreachable; default
        /// 2 minutes), with backoff from 250 ms up to 5 s between attempts. Then it stops with
        /// ``DurableRunStoreError/Code/storeUnavailable``: everything committed stays, its claimed items go to other
        /// workers when their leases expire, and the run can be rejoined once the store answers.
        public var outageTolerance: Duration

        /// Options.
        /// The guardrails' limits (memory, stall, disk reserve): a limit passed stops this worker cleanly — no new
        /// item, the items in flight finish and are committed, the worker leaves — with a `DurableIOError` whose
        /// class is `guardrail`.
        public var limits: GuardrailLimits
        /// Retries of an item whose failure is transient (``ItemFailure/isTransient``) within the session, with
        /// backoff. A PostgreSQL worker keeps renewing the item's lease while it waits. Default: none.
        public var retry: RetryPolicy = .none
        /// Stop claiming items once more of this worker's items failed than this (a share counts against the run's
        /// items without a result when the worker joined); the finished ones are committed, the worker leaves, and
        /// the session throws ``DurableRunStoreError/Code/failureBudgetExceeded``. Default: none.
        public var failureBudget: FailureBudget?

        public init(
            jobs: Int = 1, claimSize: Int? = nil, lease: Duration = .seconds(30), idlePause: Duration = .milliseconds(500),
            stop: StopRequest = StopRequest(), progress: (@Sendable (ProgressSnapshot) -> Void)? = nil,
            notice: (@Sendable (String) -> Void)? = nil, logger: Logger = Logger(label: "DurableRunStore.LeasedWorker"),
            outageTolerance: Duration = .seconds(120), limits: GuardrailLimits = .none
        ) {
            self.limits = limits
            self.jobs = jobs
            self.claimSize = claimSize
            self.lease = lease
            self.idlePause = idlePause
            self.stop = stop
            self.progress = progress
            self.notice = notice
            self.logger = logger
            self.outageTolerance = outageTolerance
        }
    }

    /// The shared store.
    public let store: any ClaimingRunStore
    /// Who this worker is.
    public let identity: WorkerIdentity
    /// How it runs.
    public let options: Options

    /// A worker.
    public init(store: any ClaimingRunStore, identity: WorkerIdentity = .current(), options: Options = Options()) {
        self.store = store
        self.identity = identity
        self.options = options
    }

    /// Joins the run `runID` and works until nothing is left (or a stop request).
    ///
    /// - Throws: ``DurableRunStoreError`` `runNotFound`, `alreadyCompleted`, or `invalidInput` for a `failed` run
    ///   (resume it first); the store's error when the database stays unreachable through the retries.
    public func work(runID: String, process: @escaping ResumableRunner.Process) async throws -> WorkerOutcome {
        let run = try await ResumeChecks.existingRun(runID, in: store, operation: "work", listing: "--store URL")
        try ResumeChecks.notCompleted(run, operation: "work", nothingTo: "work on")
        switch run.status {
        case .completed: break  // refused above
        case .failed:
            throw DurableRunStoreError(
                .invalidInput, operation: "work",
                message: "run \(run.id) is finalized as failed (\(run.failedCount) errors, \(run.missingCount) not done); workers join running runs only",
                hint: "Resume it first (durable-resume resume --store URL --run-id \(run.id) [--retry-errors-only]); other workers can then join.")
        case .running: break
        }
        return try await execute(run: run, process: process)
    }
}
