/// The stretches of time this process was not running — stopped by SIGSTOP (or Ctrl-Z), frozen with its cgroup
/// or VM — as a thread that wakes at a known interval sees them: each wake-up that comes later than asked for by
/// more than ``tolerance`` records the lateness as a pause ending then.
///
/// Linux has no clock that stands still while a process is stopped: `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` run
/// on, and CPU-time clocks also stand still while the process waits for its children, which is just when a stall
/// must be seen. So the watchdog measures its own late wake-ups instead, and time in which nothing of this process
/// could run is not counted as a stall of its work (items may well finish meanwhile; their completions are seen
/// after `SIGCONT`).
///
/// ```swift
/// var pauses = PauseLog()
/// let asleep = ContinuousClock.now
/// Thread.sleep(forTimeInterval: 1)
/// pauses.noteWakeUp(at: .now, sleptFor: ContinuousClock.now - asleep, expected: .seconds(1))
/// let stopped = pauses.total(since: ContinuousClock.now - .seconds(60))   // SIGSTOP time in the last minute
/// ```
struct PauseLog: Sendable {
    /// Lateness up to this much is scheduling noise on a busy machine, not a pause.
    static let tolerance: Duration = .milliseconds(250)
    /// Pauses older than this are forgotten (no stall timeout is longer in practice; a week).
    static let horizon: Duration = .seconds(7 * 24 * 3600)

    private var spans: [(end: ContinuousClock.Instant, length: Duration)] = []

    /// Records a wake-up at `now` after sleeping `slept` where `expected` was asked for.
    mutating func noteWakeUp(at now: ContinuousClock.Instant, sleptFor slept: Duration, expected: Duration) {
        let late = slept - expected
        guard late > Self.tolerance else { return }
        spans.append((now, late))
        spans.removeAll { $0.end < now - Self.horizon }
    }

    /// The paused time after `start` (a pause that began before it counts only from `start`).
    func total(since start: ContinuousClock.Instant) -> Duration {
        spans.reduce(.zero) { sum, span in
            let begin = span.end - span.length
            guard span.end > start else { return sum }
            return sum + (begin >= start ? span.length : start.duration(to: span.end))
        }
    }
}
