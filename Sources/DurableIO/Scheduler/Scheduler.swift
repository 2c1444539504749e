/// The one loop every run uses: items from a ``SchedulerFeed`` run at most ``jobs`` at once in a task group, a
/// stop request ends the starting, a forced stop cancels what is in flight, and results are committed by the run's
/// ``CommitPolicy`` — each item durable on its own, or in batches on count or time (a tick wakes the loop when
/// nothing finishes, so a batch that is due by time is committed and the feed asked again).
///
/// What the scheduler does not know: what an item is, where a result goes, how progress is shown. The run gives
/// `attempt` (one item's work: a result, or `nil` when it was abandoned to a cancellation), `onResult` (called in
/// the loop for every finished item, after its commit under ``CommitPolicy/eachItem(_:)``: count it, buffer it,
/// show progress, and say whether to keep starting items) and the policy.
///
/// ```swift
/// let scheduler = Scheduler<ItemResult>(
///     jobs: 4, stop: stop, tick: .milliseconds(250),
///     policy: .batches(count: 100, interval: .seconds(5), pending: { buffer.count }) { try await buffer.commit() })
/// let outcome = await scheduler.cancellingOnForce {
///     var feed = ItemList(items)
///     try await scheduler.run(&feed, attempt: { item in try await process(item) }) { result in
///         buffer.append(result)
///         return .keepStarting
///     }
/// }
/// try await buffer.commit()   // the last batch, also after a forced stop
/// ```
package struct Scheduler<Result: Sendable>: Sendable {
    /// What a run says after each finished item.
    package enum Next: Sendable, Equatable {
        /// Go on.
        case keepStarting
        /// Start no new item (a failure budget ran out); the items in flight finish.
        case stopStarting
    }

    /// Items in flight at once (at least 1).
    package let jobs: Int
    /// The graceful stop: no new item starts once it is requested; ``cancellingOnForce(_:)`` cancels the work when
    /// it is forced.
    package let stop: StopRequest
    /// How often the loop wakes when nothing finishes; `nil`: only when an item finishes.
    package let tick: Duration?
    /// When results are committed.
    package let policy: CommitPolicy<Result>
    /// The limits checked after every event (memory, the disk reserve when due): when one is passed, no new item
    /// starts, the items in flight finish (and are committed by the policy), then ``run(_:attempt:onAbandoned:onResult:)``
    /// throws the guardrail's error. `nil`: none.
    package let guardrails: Guardrails?

    /// A scheduler.
    package init(
        jobs: Int, stop: StopRequest, tick: Duration? = nil, guardrails: Guardrails? = nil, policy: CommitPolicy<Result>
    ) {
        self.jobs = max(1, jobs)
        self.stop = stop
        self.tick = tick
        self.guardrails = guardrails
        self.policy = policy
    }

    private enum Event: Sendable {
        case finished(Result)
        case abandoned
        case tick
    }

    /// Runs the feed's items until it is exhausted (or a stop was requested, or `onResult` said stop) and nothing
    /// is in flight. Under a batch policy the last batch is left to the caller: it is committed after the loop,
    /// outside a possibly cancelled task, so a forced stop still records every result that finished.
    ///
    /// - Throws: what `attempt`, a commit or `onResult` threw (the items in flight are then cancelled), a
    ///   guardrail's `DurableIOError` once the items in flight have finished, or a `CancellationError`.
    package func run<Feed: SchedulerFeed>(
        _ feed: inout Feed,
        attempt: @escaping @Sendable (Feed.Item) async throws -> Result?,
        onAbandoned: () -> Void = {},
        onResult: (Result) throws -> Next
    ) async throws {
        let policy = self.policy
        let tick = self.tick
        try await withThrowingTaskGroup(of: Event.self) { group in
            var inFlight = 0
            var starting = true
            var guardrailStop: DurableIOError?
            var lastCommit = ContinuousClock.now
            func commitNow() async throws {
                if case .batches(_, _, _, let commit) = policy { try await commit() }
                lastCommit = ContinuousClock.now
            }
            if let tick { group.addTask { try? await Task.sleep(for: tick); return .tick } }
            while true {
                try await feed.prepare(inFlight: inFlight, commit: commitNow)
                while starting, inFlight < jobs, !stop.isRequested, let item = feed.next() {
                    inFlight += 1
                    group.addTask {
                        guard let result = try await attempt(item) else { return .abandoned }
                        if case .eachItem(let commit) = policy { try await commit(result) }
                        return .finished(result)
                    }
                }
                if inFlight == 0, feed.isExhausted || stop.isRequested || !starting { break }
                guard let event = try await group.next() else { break }
                switch event {
                case .tick:
                    if let tick { group.addTask { try? await Task.sleep(for: tick); return .tick } }
                case .finished(let result):
                    inFlight -= 1
                    if try onResult(result) == .stopStarting { starting = false }
                case .abandoned:
                    inFlight -= 1
                    onAbandoned()
                }
                if guardrailStop == nil, let guardrails, let passed = guardrails.limitReached() {
                    guardrailStop = passed
                    starting = false
                }
                if case .batches(_, _, let pending, _) = policy,
                    policy.isDue(pending: pending(), sinceLastCommit: ContinuousClock.now - lastCommit),
                    !Task.isCancelled
                {
                    try await commitNow()
                }
            }
            group.cancelAll()
            if let guardrailStop { throw guardrailStop }
        }
    }

    /// Runs `work` in a task of its own that a forced ``stop`` cancels (as does cancelling the caller), and
    /// returns how it ended.
    package func cancellingOnForce<R: Sendable>(
        _ work: @escaping @Sendable () async throws -> R
    ) async -> Swift.Result<R, any Error> {
        let task = Task { try await work() }
        stop.onForce { task.cancel() }
        return await withTaskCancellationHandler { await task.result } onCancel: { task.cancel() }
    }
}
