import Foundation
import Synchronization

/// Counts a run's items and estimates its rate and ETA honestly.
///
/// The rate is a time-weighted average over the recent past whose weights halve every ``Options/halfLife``
/// seconds of age (as Rust's indicatif does), not a per-update average (tqdm's swings with bursty updates) and not
/// the whole-run average (which lies for long after a slow start). While nothing completes the rate decays, so a
/// stall shows as a falling rate and a growing ETA rather than a frozen one. Items skipped because a resumed run
/// already had them count as done but never toward the rate. The ETA stays unknown until
/// ``Options/etaMinimumItems`` items completed and ``Options/etaMinimumSeconds`` passed in this run.
///
/// Safe to use from many threads and tasks.
///
/// ```swift
/// let tracker = ProgressTracker(total: 152_265)
/// tracker.skip(41_200)                 // done by an earlier run
/// tracker.mark(completed: 20, failed: 1)
/// print(tracker.snapshot())
/// ```
public final class ProgressTracker: Sendable {
    /// Estimation settings.
    public struct Options: Sendable {
        /// Age at which a completion's weight has halved. Default 15 s.
        public var halfLife: Double
        /// Completions in this run before an ETA is given. Default 10.
        public var etaMinimumItems: Int
        /// Seconds of this run before an ETA is given. Default 5.
        public var etaMinimumSeconds: Double

        /// Creates options.
        public init(halfLife: Double = 15, etaMinimumItems: Int = 10, etaMinimumSeconds: Double = 5) {
            self.halfLife = halfLife
            self.etaMinimumItems = etaMinimumItems
            self.etaMinimumSeconds = etaMinimumSeconds
        }
    }

    private struct State {
        var total: Int?
        var completed = 0
        var failed = 0
        var skipped = 0
        /// Decayed count of completions and decayed integral of time, at `lastTime`.
        var weightedCount = 0.0
        var weightedTime = 0.0
        var lastTime = 0.0
        var lastProgress = 0.0
    }

    private let state: Mutex<State>
    private let options: Options
    /// The clock.
    public let timekeeper: Timekeeper

    /// A tracker for `total` items (or an unknown total), starting now.
    public init(total: Int? = nil, options: Options = Options(), timekeeper: Timekeeper = .system) {
        self.options = options
        self.timekeeper = timekeeper
        var initial = State()
        initial.total = total
        let now = timekeeper.seconds
        initial.lastTime = now
        initial.lastProgress = now
        self.state = Mutex(initial)
    }

    /// Records items completed and failed just now (both count as progress; only completions feed the rate).
    public func mark(completed: Int = 0, failed: Int = 0) {
        let now = timekeeper.seconds
        state.withLock { s in
            advance(&s, to: now)
            s.completed += completed
            s.failed += failed
            s.weightedCount += Double(completed)
            if completed + failed > 0 { s.lastProgress = now }
        }
    }

    /// Records items already done by an earlier run: done, but not part of the rate.
    public func skip(_ count: Int) { state.withLock { $0.skipped += count } }

    /// Sets or changes the total.
    public func setTotal(_ total: Int?) { state.withLock { $0.total = total } }

    /// Seconds since the last completed or failed item (or the start).
    public var secondsSinceProgress: Double {
        let now = timekeeper.seconds
        return state.withLock { now - $0.lastProgress }
    }

    /// The progress now.
    public func snapshot() -> ProgressSnapshot {
        let now = timekeeper.seconds
        return state.withLock { s in
            advance(&s, to: now)
            let rate = s.completed > 0 && s.weightedTime > 0 ? s.weightedCount / s.weightedTime : nil
            var eta: Double?
            if let total = s.total, let rate, rate > 0, s.completed >= options.etaMinimumItems,
                now >= options.etaMinimumSeconds
            {
                eta = Double(max(0, total - (s.completed + s.failed + s.skipped))) / rate
            }
            return ProgressSnapshot(
                total: s.total, completed: s.completed, failed: s.failed, skipped: s.skipped, ratePerSecond: rate,
                etaSeconds: eta, elapsedSeconds: now, secondsSinceProgress: now - s.lastProgress)
        }
    }

    /// Decays the weights from `lastTime` to `now`: C ← C·e^(−λΔt), I ← I·e^(−λΔt) + (1 − e^(−λΔt))/λ.
    private func advance(_ s: inout State, to now: Double) {
        let dt = max(0, now - s.lastTime)
        guard dt > 0 else { return }
        let lambda = M_LN2 / options.halfLife
        let decay = exp(-lambda * dt)
        s.weightedCount *= decay
        s.weightedTime = s.weightedTime * decay + (1 - decay) / lambda
        s.lastTime = now
    }
}
