import Foundation
import Logging
import Synchronization

/// Ends work that has stopped making progress: if nothing is marked on the ``ProgressTracker`` for
/// ``timeout``, the guarded work is cancelled with an error naming how long it stalled and the last progress.
///
/// The watchdog runs on a thread of its own, not on the cooperative pool (where blocking calls — fsync, flock, a
/// child's pipe — can occupy every thread on a small machine). If the work does not end within ``grace`` after
/// the cancellation, the watchdog logs the stall and, with ``Escalation/exitProcess(code:)``, exits the process:
/// everything acknowledged is already durable, and a rerun resumes.
///
/// Once every item of a known total is done, nothing can stall: the work left (a last commit, finalize) is not
/// item progress. Time the process spent stopped (SIGSTOP, Ctrl-Z, a frozen VM) is not a stall either: the
/// watchdog sees it as its own late wake-ups (see `PauseLog`) and does not count it, so a run stopped for longer
/// than the timeout and continued goes on, its items that finished meanwhile counted when they are seen.
///
/// ```swift
/// let watchdog = StallWatchdog(tracker: tracker, timeout: .seconds(300))
/// try await watchdog.run {
///     for batch in batches { try await process(batch); tracker.mark(completed: batch.count) }
/// }
/// ```
public final class StallWatchdog: Sendable {
    /// What to do when cancelled work does not end within the grace period.
    public enum Escalation: Sendable, Equatable {
        /// Log it and keep waiting.
        case logOnly
        /// Log it and exit the process with this code.
        case exitProcess(code: Int32)
    }

    /// The tracker watched.
    public let tracker: ProgressTracker
    /// How long without progress is a stall. Default 300 s.
    public let timeout: Duration
    /// How long cancelled work has to end. Default 30 s.
    public let grace: Duration
    /// What happens after the grace period.
    public let escalation: Escalation
    private let logger: Logger

    /// A watchdog for `tracker`.
    public init(
        tracker: ProgressTracker, timeout: Duration = .seconds(300), grace: Duration = .seconds(30),
        escalation: Escalation = .logOnly, logger: Logger = Logger(label: "DurableIO.StallWatchdog")
    ) {
        self.tracker = tracker
        self.timeout = timeout
        self.grace = grace
        self.escalation = escalation
        self.logger = logger
    }

    /// The stall error if the tracker has been idle for the timeout, else `nil`.
    public func check() -> DurableIOError? { check(pauses: PauseLog(), now: .now) }

    /// The stall error if the tracker has been idle for the timeout, not counting the time `pauses` says this
    /// process was stopped.
    func check(pauses: PauseLog, now: ContinuousClock.Instant) -> DurableIOError? {
        let sinceProgress = tracker.secondsSinceProgress
        let stopped = pauses.total(since: now - .seconds(sinceProgress)).seconds
        let idle = sinceProgress - stopped
        guard idle >= timeout.seconds else { return nil }
        let snapshot = tracker.snapshot()
        // Every item done: what is left (the last commit, a finalize that rewrites the whole output) is not item
        // progress, and can take longer than the timeout on a big output or a loaded machine.
        if let total = snapshot.total, snapshot.done >= total { return nil }
        let notCounted = stopped >= 1 ? ", not counting \(ProgressSnapshot.duration(stopped)) while this process was stopped" : ""
        return DurableIOError(
            .stalled, operation: "stall watchdog",
            message: "no progress for \(ProgressSnapshot.duration(idle))\(notCounted) (limit \(ProgressSnapshot.duration(timeout.seconds))); last progress: \(snapshot)",
            hint: "Everything acknowledged is durable; rerun to resume. Look for a hung item, swapping or a full disk.")
    }

    /// Runs `work`, cancelling it with ``DurableIOError/Code/stalled`` if it stalls.
    public func run<R: Sendable>(_ work: @escaping @Sendable () async throws -> R) async throws -> R {
        let trip = Trip()
        let finished = DispatchSemaphore(value: 0)
        let interval = max(0.01, min(1, timeout.seconds / 4))
        let thread = Thread { [self] in
            var pauses = PauseLog()
            while true {
                let asleep = ContinuousClock.now
                guard finished.wait(timeout: .now() + interval) == .timedOut else { return }
                let now = ContinuousClock.now
                pauses.noteWakeUp(at: now, sleptFor: asleep.duration(to: now), expected: .seconds(interval))
                guard let stall = check(pauses: pauses, now: now) else { continue }
                trip.fire(stall)
                if finished.wait(timeout: .now() + grace.seconds) == .success { return }
                logger.critical("\(stall.message); the work did not stop within \(ProgressSnapshot.duration(grace.seconds)) of being cancelled")
                if case .exitProcess(let code) = escalation { exit(code) }
                return
            }
        }
        thread.name = "DurableIO stall watchdog"
        thread.start()
        defer { finished.signal() }
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await trip.wait()
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw CancellationError() }
            return value
        }
    }

    /// A one-shot signal from the watchdog thread to an awaiting task.
    private final class Trip: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Void, any Error>?
            var error: (any Error)?
        }
        private let state = Mutex(State())

        func fire(_ error: any Error) { settle(error) }

        func wait() async throws {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let pending = state.withLock { s -> (any Error)? in
                        if let error = s.error { return error }
                        s.continuation = continuation
                        return nil
                    }
                    if let pending { continuation.resume(throwing: pending) }
                }
            } onCancel: {
                settle(CancellationError())
            }
        }

        private func settle(_ error: any Error) {
            let waiting = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                if s.error == nil { s.error = error }
                defer { s.continuation = nil }
                return s.continuation
            }
            waiting?.resume(throwing: error)
        }
    }
}
