/// Retries of one item within a run, for transient failures (a rate-limited API, a busy service): up to
/// ``retries`` more attempts, each after an exponential backoff with full jitter — a random wait between 0 and
/// `min(maxDelay, delay × 2^(n−1))` before retry n — so that many items failing at once do not retry in step.
/// Which failures are transient is the caller's rule (the CLIs: an item command that exits 75, `EX_TEMPFAIL`, or
/// runs past its timeout).
///
/// ```swift
/// let policy = RetryPolicy(retries: 3, delay: .seconds(2), maxDelay: .seconds(60))
/// let row = try await policy.attempt(isTransient: { $0 is RateLimited }, onFailure: { error, n in log(error, n) }) { _ in
///     try await callTheAPI()
/// }
/// ```
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts after the first (0: no retry).
    public var retries: Int
    /// The backoff's base: the largest wait before the first retry.
    public var delay: Duration
    /// The cap of every wait.
    public var maxDelay: Duration

    /// A policy; `retries` 0 retries nothing.
    public init(retries: Int, delay: Duration = .seconds(2), maxDelay: Duration = .seconds(60)) {
        self.retries = max(0, retries)
        self.delay = delay
        self.maxDelay = maxDelay
    }

    /// No retry.
    public static let none = RetryPolicy(retries: 0)

    /// The longest wait before retry `n` (1 for the first): `min(maxDelay, delay × 2^(n−1))`.
    public func ceiling(beforeRetry n: Int) -> Duration {
        let doublings = min(max(0, n - 1), 40)
        let grown = delay.seconds * Double(1 << doublings)
        return .milliseconds(Int64(min(grown, maxDelay.seconds) * 1000))
    }

    /// The wait before retry `n`: uniformly random between 0 and ``ceiling(beforeRetry:)`` (full jitter).
    public func wait(beforeRetry n: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(beforeRetry: n).seconds
        return ceiling <= 0 ? .zero : .milliseconds(Int64(Double.random(in: 0...ceiling, using: &generator) * 1000))
    }

    /// Runs `body` (given the attempt number, 1 for the first) until it succeeds, fails with an error that is not
    /// transient, or has failed `retries + 1` times; `onFailure` sees every failed attempt that is retried. A
    /// cancellation ends the waiting and is thrown.
    ///
    /// - Throws: the last attempt's error.
    public func attempt<R>(
        isTransient: (any Error) -> Bool, onFailure: (any Error, Int) -> Void = { _, _ in },
        _ body: (Int) async throws -> R
    ) async throws -> R {
        var generator = SystemRandomNumberGenerator()
        var n = 1
        while true {
            do {
                return try await body(n)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                guard n <= retries, isTransient(error) else { throw error }
                onFailure(error, n)
                try await Task.sleep(for: wait(beforeRetry: n, using: &generator))
                n += 1
            }
        }
    }
}
