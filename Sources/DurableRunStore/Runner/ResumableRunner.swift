import DurableIO
import Foundation
import Logging

/// Starts and resumes runs over a ``RunStore``: the checks in the right order, the lock, batched commits with
/// progress, and finalize.
///
/// Resume checks, in this order: the status (a `completed` run is refused), then the run's lock (a second process
/// is refused, naming the holder), then the status again (it may have changed while waiting), then the source
/// file's checksum when one is given. The stored configuration is authoritative: options that differ are reported
/// through ``Options/notice`` and ignored.
///
/// Each item is handed to `process`, which returns the result's JSON bytes or throws (the item is then recorded as
/// an error). Results are committed every ``RunConfiguration/batchSize`` items or ``RunConfiguration/batchSeconds``
/// seconds, whichever comes first, together with the run's counts, progress time and ETA. A per-item command may
/// therefore run more than once for an item (at-least-once): a kill loses the uncommitted batch, which the next
/// session redoes — but an item is *recorded* once.
///
/// ```swift
/// let runner = ResumableRunner(store: try SQLiteRunStore(path: "runs.sqlite"))
/// let outcome = try await runner.start(source: source, name: "nightly", configuration: .init(command: "cat"),
///                                      options: .init(jobs: 4), announce: { print("run \($0.id)") }) { item in
///     Array(item.json.utf8)
/// }
/// ```
public struct ResumableRunner: Sendable {
    /// Processes one item: returns the result's JSON bytes, or throws (an ``ItemFailure`` to choose the category).
    public typealias Process = @Sendable (SourceItem) async throws -> [UInt8]

    /// How a session runs (not part of the stored configuration: it may change between sessions).
    public struct Options: Sendable {
        /// Items processed at once (default 1).
        public var jobs: Int
        /// A graceful stop: no new items start; in-flight items finish (or are killed when it is forced); the
        /// batch is committed; the run stays `running`.
        public var stop: StopRequest
        /// How long to wait for the run's lock (default: not at all).
        public var lockTimeout: Duration
        /// Called after every finished item with the progress (cheap; render it).
        public var progress: (@Sendable (ProgressSnapshot) -> Void)?
        /// Called for drift warnings and other notices.
        public var notice: (@Sendable (String) -> Void)?
        /// ETA estimation settings.
        public var estimation: ProgressTracker.Options
        /// Where commits (debug), finalize and stops (info) are logged.
        public var logger: Logger

        /// The guardrails' limits (memory, stall, disk reserve): a limit passed stops the session cleanly — no new
        /// item, the items in flight finish and are committed — with a `DurableIOError` whose class is
        /// `guardrail`.
        public var limits: GuardrailLimits
        /// Retries of an item whose failure is transient (``ItemFailure/isTransient``) within the session, with
        /// backoff. A PostgreSQL worker keeps renewing the item's lease while it waits. Default: none.
        public var retry: RetryPolicy = .none
        /// Stop starting items once more failed than this (the finished ones are committed, the run stays
        /// `running`, and the session throws ``DurableRunStoreError/Code/failureBudgetExceeded``). Default: none.
        public var failureBudget: FailureBudget?

        /// Options.
        public init(
            jobs: Int = 1, stop: StopRequest = StopRequest(), lockTimeout: Duration = .zero,
            progress: (@Sendable (ProgressSnapshot) -> Void)? = nil, notice: (@Sendable (String) -> Void)? = nil,
            estimation: ProgressTracker.Options = ProgressTracker.Options(),
            logger: Logger = Logger(label: "DurableRunStore.ResumableRunner"), limits: GuardrailLimits = .none
        ) {
            self.limits = limits
            self.jobs = jobs
            self.stop = stop
            self.lockTimeout = lockTimeout
            self.progress = progress
            self.notice = notice
            self.estimation = estimation
            self.logger = logger
        }
    }

    /// What a resume asks for.
    ///
    /// ```swift
    /// let request = ResumeRequest(selection: .retryErrorsOnly, sourceFile: "narratives.csv")
    /// ```
    public struct ResumeRequest: Sendable {
        /// Missing items (default) or errored items only.
        public var selection: WorkSelection
        /// The source file, to check against the run's checksum; `nil` to trust the database.
        public var sourceFile: String?
        /// Settings given on the command line, compared with the stored ones (drift is reported, then ignored).
        public var given: RunConfiguration.Overrides

        /// A request.
        public init(selection: WorkSelection = .missingOnly, sourceFile: String? = nil, given: RunConfiguration.Overrides = .init()) {
            self.selection = selection
            self.sourceFile = sourceFile
            self.given = given
        }
    }

    /// The store.
    public let store: any LockedRunStore

    /// A runner over `store`.
    public init(store: any LockedRunStore) { self.store = store }

    /// Creates a run over `source` and processes every item.
    ///
    /// - Parameters:
    ///   - source: the ingested source version the run is over (``RunStore/ingest(_:allowNewVersion:)``); its
    ///     items are the run's.
    ///   - name: a name for the run, shown by `list` and `status`; `nil` for none.
    ///   - configuration: the run's stored settings (command, batch size, …), validated first; later sessions
    ///     use them.
    ///   - options: how this session runs (jobs, stop, progress, guardrails, retries, failure budget).
    ///   - announce: called once the run exists and its lock is held, before any item is processed (the CLI prints
    ///     `run <ID>` there).
    ///   - process: processes one item.
    /// - Returns: the outcome; the run is finalized unless a stop ended the session.
    public func start(
        source: SourceVersion, name: String?, configuration: RunConfiguration, options: Options = Options(),
        announce: @Sendable (RunRecord) -> Void = { _ in }, process: @escaping Process
    ) async throws -> RunOutcome {
        try configuration.validate()
        let id = UUID().uuidString.lowercased()
        let lock = store.lock(forRun: id)
        try await lock.acquire(timeout: options.lockTimeout)
        return try await holding(lock) {
            let run = try await store.createRun(
                id: id, name: name, source: source, configuration: configuration, startedAt: Date())
            announce(run)
            return try await execute(run: run, selection: .missingOnly, options: options, process: process)
        }
    }

    /// Resumes the run `runID`: see the type's documentation for the checks and their order.
    ///
    /// - Parameters:
    ///   - runID: the run to resume.
    ///   - request: which items to process (missing ones by default), the source file to check and the settings
    ///     given on the command line.
    ///   - options: how this session runs (jobs, stop, progress, guardrails, retries, failure budget).
    ///   - announce: called once the checks passed and the lock is held, before any item is processed.
    ///   - makeProcess: builds the item processor from the *stored* configuration (which is authoritative).
    /// - Throws: ``DurableRunStoreError`` `runNotFound`, `alreadyCompleted` or `checksumMismatch` (naming both
    ///   checksums); `DurableIOError` `lockHeld` naming the holder.
    public func resume(
        runID: String, request: ResumeRequest = ResumeRequest(), options: Options = Options(),
        announce: @Sendable (RunRecord) -> Void = { _ in },
        makeProcess: (RunConfiguration) -> Process
    ) async throws -> RunOutcome {
        try await guardStatus(runID)  // 1. status
        let lock = store.lock(forRun: runID)
        try await lock.acquire(timeout: options.lockTimeout)  // 2. lock
        return try await holding(lock) {
            let run = try await guardStatus(runID)  // 3. status again: it may have changed while we waited
            try await ResumeChecks.sourceMatches(request.sourceFile, run: run)  // 4. source checksum
            ResumeChecks.reportDrift(of: run, from: request.given, notice: options.notice)
            let resumed = try await store.markResumed(runID: runID)
            announce(resumed)
            return try await execute(
                run: resumed, selection: request.selection, options: options, process: makeProcess(resumed.configuration))
        }
    }

    /// The latest run that is not completed (for `--latest`), or `nil`.
    public func latestResumableRun() async throws -> RunRecord? {
        try await store.latestResumableRun()
    }

    /// The run's state for operators (`interrupted` when `running` and no process holds its lock).
    public func state(of run: RunRecord) -> RunState { store.state(of: run) }

    @discardableResult
    private func guardStatus(_ runID: String) async throws -> RunRecord {
        let run = try await ResumeChecks.existingRun(runID, in: store, operation: "resume", listing: "--db FILE")
        try ResumeChecks.notCompleted(run, operation: "resume", sayingWhen: true, nothingTo: "resume")
        return run
    }

    private func holding<R>(_ lock: any ProcessLock, _ body: () async throws -> R) async throws -> R {
        let result: R
        do { result = try await body() } catch {
            try? lock.release()
            throw error
        }
        try lock.release()
        return result
    }
}
