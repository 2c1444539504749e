/// Where guardrails read the time: the time elapsed since the timekeeper was made.
///
/// Real code uses ``system``; tests hand in a clock they advance by hand (any `Clock` whose duration is
/// `Duration`, such as swift-clocks' `TestClock`), so rate, ETA and stall logic are tested without sleeping.
///
/// ```swift
/// let tracker = ProgressTracker(total: 1_000, timekeeper: .system)
/// // In a test: let clock = TestClock(); ProgressTracker(total: 10, timekeeper: Timekeeper(clock))
/// ```
public struct Timekeeper: Sendable {
    /// Time elapsed since this timekeeper was made.
    public let elapsed: @Sendable () -> Duration

    /// A timekeeper reading `clock`.
    public init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
    }

    /// The monotonic system clock.
    public static var system: Timekeeper { Timekeeper(ContinuousClock()) }

    /// Elapsed seconds.
    var seconds: Double { elapsed().seconds }
}
