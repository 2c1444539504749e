import DurableIO
import DurablePostgres
import DurableRunStore
import DurableSQLite
import Logging

extension OpenedRunStore {
    /// How a session runs, for whichever runner the store takes.
    ///
    /// ```swift
    /// let options = OpenedRunStore.Options(jobs: 8, lease: .seconds(60))
    /// ```
    public struct Options: Sendable {
        /// Items processed at once.
        public var jobs: Int
        /// Asks the session to stop (SIGINT, SIGTERM).
        public var stop: StopRequest
        /// Called with each progress snapshot.
        public var progress: (@Sendable (ProgressSnapshot) -> Void)?
        /// Called with each notice (configuration drift, …).
        public var notice: (@Sendable (String) -> Void)?
        /// Where the runner logs.
        public var logger: Logger
        /// A claiming store: how long a claimed item's lease lasts without renewal.
        public var lease: Duration
        /// A claiming store: items claimed at once (`nil`: twice ``jobs``).
        public var claimSize: Int?
        /// The guardrails' limits (memory, stall, disk reserve), for either runner.
        public var limits: GuardrailLimits
        /// Retries of transient item failures within the session, for either runner. Default: none.
        public var retry: RetryPolicy = .none
        /// Stop starting items once more failed than this, for either runner (see `FailureBudget`). Default: none.
        public var failureBudget: FailureBudget?

        /// Options.
        public init(
            jobs: Int = 1, stop: StopRequest = StopRequest(), progress: (@Sendable (ProgressSnapshot) -> Void)? = nil,
            notice: (@Sendable (String) -> Void)? = nil, logger: Logger = Logger(label: "DurableStores"),
            lease: Duration = .seconds(30), claimSize: Int? = nil, limits: GuardrailLimits = .none
        ) {
            self.limits = limits
            self.jobs = jobs
            self.stop = stop
            self.progress = progress
            self.notice = notice
            self.logger = logger
            self.lease = lease
            self.claimSize = claimSize
        }

        /// The options of the runner over a locked store.
        public var runner: ResumableRunner.Options {
            var options = ResumableRunner.Options(jobs: jobs, stop: stop, progress: progress, notice: notice, logger: logger, limits: limits)
            options.retry = retry
            options.failureBudget = failureBudget
            return options
        }

        /// The options of the worker over a claiming store.
        public var worker: LeasedWorker.Options {
            var options = LeasedWorker.Options(
                jobs: jobs, claimSize: claimSize, lease: lease, stop: stop, progress: progress, notice: notice, logger: logger,
                limits: limits)
            options.retry = retry
            options.failureBudget = failureBudget
            return options
        }
    }

    /// How a session ended: a locked store's run, or a claiming store's worker.
    public enum Outcome: Sendable {
        /// `ResumableRunner`'s outcome (a locked store: SQLite).
        case run(RunOutcome)
        /// `LeasedWorker`'s outcome (a claiming store: PostgreSQL).
        case worker(WorkerOutcome)

        /// The run as the session left it.
        public var run: RunRecord {
            switch self {
            case .run(let outcome): return outcome.run
            case .worker(let outcome): return outcome.run
            }
        }
    }

    /// Creates a run over `source` and processes it with this store's runner (on PostgreSQL, as its first worker).
    ///
    /// - Parameters:
    ///   - source: the ingested source version the run is over (`RunStore.ingest(_:allowNewVersion:)`); its
    ///     items are the run's.
    ///   - name: a name for the run, shown by `list` and `status`; `nil` for none.
    ///   - configuration: the run's stored settings (command, batch size, …), validated first; later sessions
    ///     use them.
    ///   - options: how this session runs, for whichever runner the store takes.
    ///   - announce: called once the run exists (and, on SQLite, its lock is held), before any item.
    ///   - process: processes one item.
    public func start(
        source: SourceVersion, name: String?, configuration: RunConfiguration, options: Options = Options(),
        announce: @Sendable (RunRecord) -> Void = { _ in }, process: @escaping ResumableRunner.Process
    ) async throws -> Outcome {
        switch self {
        case .locked(let store):
            return .run(try await ResumableRunner(store: store).start(
                source: source, name: name, configuration: configuration, options: options.runner, announce: announce,
                process: process))
        case .claiming(let store):
            return .worker(try await LeasedWorker(store: store, options: options.worker).start(
                source: source, name: name, configuration: configuration, announce: announce, process: process))
        }
    }

    /// Resumes the run `runID` with this store's runner: see `ResumableRunner.resume` and `LeasedWorker.resume`
    /// for the checks and their order.
    ///
    /// - Parameters:
    ///   - runID: the run to resume.
    ///   - request: which items to process (missing ones by default), the source file to check and the settings
    ///     given on the command line.
    ///   - options: how this session runs, for whichever runner the store takes.
    ///   - announce: called once the checks passed (and, on SQLite, the lock is held), before any item.
    ///   - makeProcess: builds the item processor from the *stored* configuration (authoritative).
    public func resume(
        runID: String, request: ResumableRunner.ResumeRequest = .init(), options: Options = Options(),
        announce: @Sendable (RunRecord) -> Void = { _ in }, makeProcess: (RunConfiguration) -> ResumableRunner.Process
    ) async throws -> Outcome {
        switch self {
        case .locked(let store):
            return .run(try await ResumableRunner(store: store).resume(
                runID: runID, request: request, options: options.runner, announce: announce, makeProcess: makeProcess))
        case .claiming(let store):
            return .worker(try await LeasedWorker(store: store, options: options.worker).resume(
                runID: runID, request: request, announce: announce, makeProcess: makeProcess))
        }
    }

    /// Joins the running run `runID` as one more worker, with the run's stored configuration.
    ///
    /// - Parameters:
    ///   - runID: the running run to join.
    ///   - options: how this worker's session runs.
    ///   - announce: called with the run once it is found, before any claim.
    ///   - makeProcess: builds the item processor from the run's stored configuration.
    /// - Throws: `DurableRunStoreError` `runNotFound`; `invalidInput` on a store without claims (SQLite: one
    ///   process per run, use ``resume(runID:request:options:announce:makeProcess:)``).
    public func work(
        runID: String, options: Options = Options(), announce: @Sendable (RunRecord) -> Void = { _ in },
        makeProcess: (RunConfiguration) -> ResumableRunner.Process
    ) async throws -> WorkerOutcome {
        guard case .claiming(let store) = self else {
            throw DurableRunStoreError(
                .invalidInput, operation: "work",
                message: "a SQLite run has one process: joining it as a worker needs a PostgreSQL store",
                hint: "Resume it instead.")
        }
        guard let run = try await store.run(id: runID) else { throw DurableRunStoreError.runNotFound(runID, operation: "find run", listing: "--store URL") }
        announce(run)
        return try await LeasedWorker(store: store, options: options.worker).work(
            runID: runID, process: makeProcess(run.configuration))
    }
}
