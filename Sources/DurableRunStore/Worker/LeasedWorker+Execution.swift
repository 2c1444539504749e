import DurableIO
import Foundation
import Logging
import Synchronization

extension LeasedWorker {
    /// The claim → process → commit loop, the renewer beside it, then finalize or leave.
    func execute(run: RunRecord, process: @escaping ResumableRunner.Process) async throws -> WorkerOutcome {
        let started = ContinuousClock.now
        let tracker = ProgressTracker(total: run.totalItems)
        tracker.skip(run.completedCount + run.failedCount)
        let state = WorkerState()
        let store = self.store
        let me = identity
        let runID = run.id
        let jobs = max(1, options.jobs)
        let claimSize = max(1, options.claimSize ?? max(2, 2 * jobs))
        let lease = options.lease
        let idlePause = options.idlePause
        let batchSize = run.configuration.batchSize
        let batchInterval = Duration.milliseconds(Int64(run.configuration.batchSeconds * 1000))
        let stop = options.stop
        let progress = options.progress
        let notice = options.notice
        let logger = options.logger
        let retry = options.retry
        let budget = options.failureBudget
        let budgetBase = run.totalItems  // a share is of the run's items, not of those left
        let overBudget = Mutex(false)

        let renewer = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: lease / 3)
                if Task.isCancelled { break }
                let held = state.heldCount
                do {
                    // A renewal that cannot finish within its interval counts as failed: the worker is cut off.
                    let renewed = try await Deadline.run(lease / 3, timeoutError: RenewalTimeout(limit: lease / 3)) {
                        try await store.renewLeases(runID: runID, worker: me, lease: lease)
                    }
                    if !state.renewalSucceeded(), held > 0 { notice?("worker \(me.id): the database is reachable again; renewing leases") }
                    // Held before and after: a commit that finished meanwhile released some, which is not a loss.
                    let stillHeld = min(held, state.heldCount)
                    if renewed < stillHeld {
                        logger.info("leases lost", metadata: ["worker": "\(me.id)", "held": "\(stillHeld)", "renewed": "\(renewed)"])
                    }
                } catch {
                    if state.renewalFailed() {
                        notice?("worker \(me.id): cannot renew leases (\(Self.describe(error))); claiming nothing new until the database answers — results whose lease expires meanwhile will be refused")
                    }
                }
            }
        }
        defer { renewer.cancel() }

        let guardrails = Guardrails(tracker: tracker, limits: options.limits, logger: logger)
        let scheduler = Scheduler<ItemResult>(
            jobs: jobs, stop: stop, tick: .milliseconds(100), guardrails: guardrails,
            policy: .batches(count: batchSize, interval: batchInterval, pending: { state.pendingCount }) {
                try await self.commit(state, store: store, runID: runID, tracker: tracker)
            })
        let result = await scheduler.cancellingOnForce {
            try await guardrails.run {
                var feed = Claims(
                    worker: self, runID: runID, state: state, jobs: jobs, claimSize: claimSize, lease: lease,
                    idlePause: idlePause, stop: stop)
                try await scheduler.run(
                    &feed, attempt: { await ResumableRunner.attempt($0.item, process, retry: retry, logger: logger) }, onAbandoned: { state.abandon() }
                ) { result in
                    state.finish(result)
                    tracker.mark(completed: result.error == nil ? 1 : 0, failed: result.error == nil ? 0 : 1)
                    progress?(tracker.snapshot())
                    if let budget, !budget.allows(state.figures.failed, of: budgetBase) {
                        overBudget.withLock { $0 = true }
                        return .stopStarting
                    }
                    return .keepStarting
                }
                return feed.isExhausted
            }
        }
        renewer.cancel()
        var finished = false
        switch result {
        case .success(let value): finished = value
        case .failure(let error) where error is CancellationError && stop.isRequested: break
        case .failure(let error as DurableRunStoreError) where error.code == .storeUnavailable:
            throw error  // the store has been down for the whole tolerance: another commit would wait as long again
        case .failure(let error):
            try? await commit(state, store: store, runID: runID, tracker: tracker)
            try? await store.leave(runID: runID, worker: me)
            throw error
        }
        try await commit(state, store: store, runID: runID, tracker: tracker)
        try await retrying(runID: runID) { try await store.leave(runID: runID, worker: me) }
        let seconds = (ContinuousClock.now - started).seconds
        let figures = state.figures
        if let budget, overBudget.withLock({ $0 }), stop.reason == nil {
            let error = budget.exceeded(failed: figures.failed, of: budgetBase, runID: runID, operation: "work")
            logger.info("\(error.message)", metadata: ["run": "\(runID)", "worker": "\(me.id)"])
            throw error
        }
        var latest = try await store.run(id: runID) ?? run
        var finalized = false
        if finished, stop.reason == nil, latest.status == .running {
            latest = try await store.finalize(
                runID: runID, session: SessionFigures(items: figures.processed, seconds: seconds), at: Date())
            finalized = true
            logger.debug("finalized as \(latest.status)", metadata: ["run": "\(runID)", "worker": "\(me.id)"])
        }
        return WorkerOutcome(
            run: latest, processed: figures.processed, succeeded: figures.succeeded, failed: figures.failed,
            recorded: figures.recorded, refused: figures.refused, abandoned: figures.abandoned, seconds: seconds,
            finalized: finalized, stoppedBy: finished ? nil : stop.reason)
    }

    /// Commits the finished results with their lease tokens; refused ones are counted and reported.
    func commit(_ state: WorkerState, store: any ClaimingRunStore, runID: String, tracker: ProgressTracker) async throws {
        let (batch, tokens) = state.peek()
        guard !batch.isEmpty else { return }
        let me = identity
        let update = ProgressUpdate(at: Date(), etaSeconds: ResumableRunner.eta(tracker.snapshot()))
        let outcome = try await retrying(runID: runID) {
            try await store.commit(batch, leases: tokens, forRun: runID, worker: me, progress: update)
        }
        state.committed(batch.count, recorded: outcome.recorded, refused: outcome.refused)
        if !outcome.refused.isEmpty {
            options.notice?("worker \(me.id): \(outcome.refused.count) of \(batch.count) results refused: their leases had expired (another worker takes or took those items; each is recorded once)")
            options.logger.info("results refused", metadata: ["worker": "\(me.id)", "refused": "\(outcome.refused.count)"])
        }
        options.logger.debug("committed", metadata: ["worker": "\(me.id)", "recorded": "\(outcome.recorded.count)"])
    }

    /// The worker's ``SchedulerFeed``: claims a batch whenever its queue is empty, a slot is free, the renewals are
    /// healthy and the idle pause is over; when a claim comes back empty with nothing in flight, commits and asks
    /// the store whether any item is left unfinished (none: the feed is exhausted).
    struct Claims: SchedulerFeed {
        let worker: LeasedWorker
        let runID: String
        let state: WorkerState
        let jobs: Int
        let claimSize: Int
        let lease: Duration
        let idlePause: Duration
        let stop: StopRequest
        var queue: [ClaimedItem] = []
        var isExhausted = false
        var nextClaim = ContinuousClock.now

        mutating func prepare(inFlight: Int, commit: () async throws -> Void) async throws {
            guard queue.isEmpty, inFlight < jobs, !isExhausted, !stop.isRequested, state.isHealthy,
                ContinuousClock.now >= nextClaim
            else { return }
            let (store, me, runID, limit, lease) = (worker.store, worker.identity, runID, claimSize, lease)
            let claimed = try await worker.retrying(runID: runID) {
                try await store.claim(runID: runID, worker: me, limit: limit, lease: lease)
            }
            if claimed.isEmpty {
                nextClaim = ContinuousClock.now + idlePause
                if inFlight == 0 {
                    try await commit()
                    isExhausted = try await !worker.retrying(runID: runID) {
                        try await store.hasUnfinishedItems(runID: runID)
                    }
                }
            } else {
                state.hold(claimed)
                queue.append(contentsOf: claimed)
                worker.options.logger.debug("claimed", metadata: ["worker": "\(me.id)", "items": "\(claimed.count)"])
            }
        }

        mutating func next() -> ClaimedItem? { queue.isEmpty ? nil : queue.removeFirst() }
    }

    /// Retries a store call that failed for a reason other than the run's semantics (a dropped connection, a
    /// restarting server, a server down) for ``Options/outageTolerance`` from the first failure, pausing 250 ms,
    /// doubling up to 5 s; then stops with `storeUnavailable`, naming the last error and how to rejoin.
    func retrying<R: Sendable>(runID: String, _ body: @Sendable () async throws -> R) async throws -> R {
        let tolerance = options.outageTolerance
        var pause = Duration.milliseconds(250)
        var firstFailure: ContinuousClock.Instant?
        var lastNotice: ContinuousClock.Instant?
        while true {
            do { return try await body() } catch let error as DurableRunStoreError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let now = ContinuousClock.now
                let since = firstFailure ?? now
                firstFailure = since
                let down = now - since
                guard down < tolerance else {
                    throw DurableRunStoreError(
                        .storeUnavailable, operation: "work",
                        message: "the store has not answered for \(Self.minutesAndSeconds(down)), so this worker stopped; last error: \(Self.describe(error))",
                        hint: "Everything committed is kept and the run stays resumable; its claimed items go to other workers when their leases expire. Once the store answers, rejoin with: durable-resume work --store URL --run-id \(runID)")
                }
                if lastNotice.map({ now - $0 >= .seconds(30) }) ?? true {
                    lastNotice = now
                    let left = Self.minutesAndSeconds(tolerance - down)
                    options.notice?("the store did not answer (\(Self.describe(error))); retrying for up to \(left) more")
                }
                try await Task.sleep(for: min(pause, tolerance - down))
                pause = min(pause * 2, .seconds(5))
            }
        }
    }

    /// `2 min 5 s`, `45 s`.
    static func minutesAndSeconds(_ duration: Duration) -> String {
        let seconds = max(0, Int(duration.seconds.rounded()))
        return seconds >= 60 ? "\(seconds / 60) min \(seconds % 60) s" : "\(seconds) s"
    }

    static func describe(_ error: any Error) -> String {
        "\(error)"
    }
}

/// A renewal that got no answer within its interval.
struct RenewalTimeout: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "no answer within \(String(format: "%.1f", limit.seconds)) s" }
}

/// A worker's leases, results waiting for their commit, and figures; shared with the renewer.
final class WorkerState: Sendable {
    struct Figures {
        var processed = 0
        var succeeded = 0
        var failed = 0
        var abandoned = 0
        var recorded = 0
        var refused = 0
    }

    private struct State {
        var held: [Int64: Int64] = [:]
        var pending: [ItemResult] = []
        var figures = Figures()
        var renewalFailures = 0
    }

    private let state = Mutex(State())

    func hold(_ claimed: [ClaimedItem]) {
        state.withLock { s in for c in claimed { s.held[c.item.id] = c.token } }
    }

    var heldCount: Int { state.withLock { $0.held.count } }
    var pendingCount: Int { state.withLock { $0.pending.count } }
    var figures: Figures { state.withLock { $0.figures } }

    /// Whether the last renewal reached the store.
    var isHealthy: Bool { state.withLock { $0.renewalFailures == 0 } }

    /// Returns whether the renewals were healthy before.
    func renewalSucceeded() -> Bool {
        state.withLock { s in
            defer { s.renewalFailures = 0 }
            return s.renewalFailures == 0
        }
    }

    /// Returns whether this is the first failure in a row.
    func renewalFailed() -> Bool {
        state.withLock { s in
            s.renewalFailures += 1
            return s.renewalFailures == 1
        }
    }

    func finish(_ result: ItemResult) {
        state.withLock { s in
            s.pending.append(result)
            s.figures.processed += 1
            if result.error == nil { s.figures.succeeded += 1 } else { s.figures.failed += 1 }
        }
    }

    func abandon() { state.withLock { $0.figures.abandoned += 1 } }

    func peek() -> ([ItemResult], [Int64: Int64]) {
        state.withLock { s in
            var tokens: [Int64: Int64] = [:]
            for r in s.pending { tokens[r.itemID] = s.held[r.itemID] ?? -1 }
            return (s.pending, tokens)
        }
    }

    func committed(_ count: Int, recorded: [Int64], refused: [Int64]) {
        state.withLock { s in
            s.pending.removeFirst(count)
            for id in recorded { s.held[id] = nil }
            for id in refused { s.held[id] = nil }
            s.figures.recorded += recorded.count
            s.figures.refused += refused.count
        }
    }
}
