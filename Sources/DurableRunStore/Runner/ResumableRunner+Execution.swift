import DurableIO
import Foundation
import Logging
import Synchronization

extension ResumableRunner {
    /// Processes the run's `selection` of items (read a page at a time: ``RemainingItems``) on the ``Scheduler``
    /// with `options.jobs` at once, committing in batches, then finalizes — unless a stop request ends the session
    /// first (then the finished results are committed and the run stays `running`).
    func execute(run: RunRecord, selection: WorkSelection, options: Options, process: @escaping Process) async throws -> RunOutcome {
        let started = ContinuousClock.now
        // What is left, from the counts every commit keeps with its results (no count of the items is read).
        let toProcess = selection == .missingOnly
            ? max(0, run.totalItems - run.completedCount - run.failedCount) : run.failedCount
        let skipped = max(0, run.totalItems - toProcess)
        let tracker = ProgressTracker(total: run.totalItems, options: options.estimation)
        tracker.skip(skipped)
        let pending = PendingResults()
        let store = self.store
        let runID = run.id
        let jobs = max(1, options.jobs)
        let batchSize = run.configuration.batchSize
        let batchInterval = Duration.milliseconds(Int64(run.configuration.batchSeconds * 1000))
        let stop = options.stop
        let progress = options.progress
        let logger = options.logger
        let retry = options.retry
        let budget = options.failureBudget
        let overBudget = Mutex(false)
        let failures = Mutex(FailureTally())
        if skipped > 0 { options.notice?("\(skipped) of \(run.totalItems) items already done; \(toProcess) to process") }
        let handedOutEveryItem = Mutex(false)

        let guardrails = Guardrails(tracker: tracker, limits: options.limits, logger: logger)
        let scheduler = Scheduler<ItemResult>(
            jobs: jobs, stop: stop, tick: .milliseconds(250), guardrails: guardrails,
            policy: .batches(count: batchSize, interval: batchInterval, pending: { pending.count }) {
                if let committed = try await Self.commitPending(pending, store: store, runID: runID, tracker: tracker) {
                    let done = committed.completedCount + committed.failedCount
                    logger.debug(
                        "committed a batch", metadata: ["run": "\(runID)", "done": "\(done)", "total": "\(committed.totalItems)"])
                }
            })
        let workResult = await scheduler.cancellingOnForce {
            try await guardrails.run {
                var feed = RemainingItems(store: store, runID: runID, selection: selection)
                defer { handedOutEveryItem.withLock { $0 = feed.isExhausted } }
                try await scheduler.run(
                    &feed, attempt: { await Self.attempt($0, process, retry: retry, logger: logger) }, onAbandoned: { pending.abandon() }
                ) { result in
                    pending.append(result)
                    if let error = result.error { failures.withLock { $0.record(error.message) } }
                    tracker.mark(completed: result.error == nil ? 1 : 0, failed: result.error == nil ? 0 : 1)
                    progress?(tracker.snapshot())
                    // A share is of the run's items, not of this session's: a resume of 2 errors among 50 is not 50 %.
                    if let budget, !budget.allows(pending.figures.failed, of: run.totalItems) {
                        overBudget.withLock { $0 = true }
                        return .stopStarting
                    }
                    return .keepStarting
                }
            }
        }
        if case .failure(let error) = workResult, !(error is CancellationError && stop.isRequested) {
            // A commit failed. After a lock timeout, record what can still be recorded; after a failed write or sync
            // (disk I/O error, disk full) nothing is written again: the error says it is not retried.
            if (error as? any UnacknowledgedWriteError)?.isUnacknowledgedWrite != true {
                _ = try? await Self.commitPending(pending, store: store, runID: runID, tracker: tracker)
            }
            throw error
        }
        // The last batch is committed outside the (possibly cancelled) work task, so a forced stop still records
        // every result that finished.
        var latest = try await Self.commitPending(pending, store: store, runID: runID, tracker: tracker) ?? run
        let seconds = (ContinuousClock.now - started).seconds
        let figures = pending.figures
        let processedEveryItem = handedOutEveryItem.withLock { $0 } && figures.abandoned == 0
        if let reason = stop.reason, !processedEveryItem {
            if let current = try await store.run(id: runID) { latest = current }
            logger.debug("stopped by \(reason); every finished result is committed", metadata: ["run": "\(runID)", "processed": "\(figures.processed)", "abandoned": "\(figures.abandoned)"])
            var outcome = RunOutcome(
                run: latest, skipped: skipped, processed: figures.processed, succeeded: figures.succeeded,
                failed: figures.failed, abandoned: figures.abandoned, seconds: seconds, stoppedBy: reason)
            outcome.failures = failures.withLock { $0 }
            return outcome
        }
        if let budget, overBudget.withLock({ $0 }), !processedEveryItem {
            let error = budget.exceeded(
                failed: figures.failed, of: run.totalItems, runID: runID, operation: "run", failures: failures.withLock { $0 })
            logger.info("\(error.message)", metadata: ["run": "\(runID)"])
            throw error
        }
        let final = try await store.finalize(
            runID: runID, session: SessionFigures(items: figures.processed, seconds: seconds), at: Date())
        logger.debug("finalized as \(final.status)", metadata: ["run": "\(runID)", "succeeded": "\(final.completedCount)", "failed": "\(final.failedCount)"])
        var outcome = RunOutcome(
            run: final, skipped: skipped, processed: figures.processed, succeeded: figures.succeeded,
            failed: figures.failed, abandoned: figures.abandoned, seconds: seconds, stoppedBy: nil)
        outcome.failures = failures.withLock { $0 }
        return outcome
    }

    /// Runs `process` for one item and turns the outcome into a result; a cancelled item is abandoned (`nil`), not
    /// recorded.
    ///
    /// A failure the processor marks transient (``ItemFailure/isTransient``) is retried by `retry` within the
    /// attempt; the result counts the attempts and keeps the first failure's message.
    ///
    /// Each retry and each failure is logged at `debug` (a run log shows them; a terminal does not).
    static func attempt(
        _ item: SourceItem, _ process: Process, retry: RetryPolicy = .none, logger: Logger = Logger(label: "DurableRunStore")
    ) async -> ItemResult? {
        var attempts = 1
        var firstError: String?
        var result: ItemResult
        do {
            let bytes = try await retry.attempt(
                isTransient: { ($0 as? ItemFailure)?.isTransient ?? false },
                onFailure: { error, n in
                    let message = (error as? ItemFailure)?.message ?? "\(error)"
                    if firstError == nil { firstError = message }
                    attempts = n + 1
                    logger.debug("retrying item \(item.key) after attempt \(n): \(message)", metadata: ["item": "\(item.key)"])
                }
            ) { _ in try await process(item) }
            if Task.isCancelled { return nil }
            if let text = validJSON(bytes) {
                result = ItemResult(itemID: item.id, output: text)
            } else {
                let failure = ItemFailure(
                    message: "the command's output is not valid JSON: \(bytes.count) byte\(bytes.count == 1 ? "" : "s"), starting \(ByteExcerpt.escaped(bytes))",
                    category: "invalid-output")
                result = ItemResult(itemID: item.id, error: failure)
            }
        } catch {
            if Task.isCancelled || error is CancellationError { return nil }
            let failure = error as? ItemFailure ?? ItemFailure(message: "\(error)", category: "error")
            result = ItemResult(itemID: item.id, error: failure)
        }
        result.attempts = attempts
        result.firstErrorMessage = firstError
        if let failure = result.error {
            logger.debug(
                "item \(item.key) failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(failure.message)",
                metadata: ["item": "\(item.key)", "category": "\(failure.category)"])
        }
        return result
    }

    /// The output as JSON text (surrounding whitespace trimmed), or `nil` when it is not one JSON value.
    static func validJSON(_ bytes: [UInt8]) -> String? {
        let data = Data(bytes)
        guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else { return nil }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Commits what is pending; the results leave the buffer only once the commit returned.
    @discardableResult
    static func commitPending(
        _ pending: PendingResults, store: any RunStore, runID: String, tracker: ProgressTracker
    ) async throws -> RunRecord? {
        let batch = pending.peek()
        guard !batch.isEmpty else { return nil }
        let run = try await store.commit(batch, forRun: runID, progress: ProgressUpdate(at: Date(), etaSeconds: eta(tracker.snapshot())))
        pending.committed(batch.count)
        return run
    }

    /// The ETA recorded with a commit: the tracker's recent-rate estimate once it has one, before that the
    /// session's average rate (an operator watching the database should not wait for the display's warm-up).
    static func eta(_ snapshot: ProgressSnapshot) -> Double? {
        if let eta = snapshot.etaSeconds { return eta }
        let processed = snapshot.completed + snapshot.failed
        guard processed > 0, snapshot.elapsedSeconds > 0, let total = snapshot.total else { return nil }
        return Double(max(0, total - snapshot.done)) * snapshot.elapsedSeconds / Double(processed)
    }

}

/// Results finished and not yet committed, and the session's figures.
final class PendingResults: Sendable {
    struct Figures {
        var processed = 0
        var succeeded = 0
        var failed = 0
        var abandoned = 0
    }

    private let state = Mutex<(results: [ItemResult], figures: Figures)>(([], Figures()))

    func append(_ result: ItemResult) {
        state.withLock { s in
            s.results.append(result)
            s.figures.processed += 1
            if result.error == nil { s.figures.succeeded += 1 } else { s.figures.failed += 1 }
        }
    }

    func abandon() { state.withLock { $0.figures.abandoned += 1 } }

    var count: Int { state.withLock { $0.results.count } }

    func peek() -> [ItemResult] { state.withLock { $0.results } }

    func committed(_ count: Int) { state.withLock { $0.results.removeFirst(count) } }

    var figures: Figures { state.withLock { $0.figures } }
}
