import ArgumentParser
import DurableIO

/// The retry flags of the commands that run an item command per item (durable-extract `run`; issue 16):
/// `--retries N` more attempts for a transient failure, exponential backoff with full jitter from `--retry-delay`
/// capped by `--retry-max-delay`, and which exit statuses are transient (`--retry-exit-codes`, default 75:
/// `EX_TEMPFAIL` of sysexits.h). A timeout is transient too; any other failure is permanent for the run.
///
/// ```swift
/// @OptionGroup(title: "Retries") var retries: RetryOptions   // retries.policy, retries.transientExitCodes
/// ```
public struct RetryOptions: ParsableArguments, Sendable {
    @Option(help: "Attempts after the first for a transient failure (an exit status in --retry-exit-codes, or a timeout), 0 to 100 (default 0).", transform: NumericArgument.count(in: 0...100))
    public var retries: Int = 0

    @Option(help: "The backoff's base: the longest wait before the first retry; each retry may wait up to twice the last (full jitter; default 2s).", transform: DurationArgument.parse)
    public var retryDelay: DurationArgument = "2s"

    @Option(help: "The longest wait before any retry (default 60s).", transform: DurationArgument.parse)
    public var retryMaxDelay: DurationArgument = "60s"

    @Option(
        help: "Exit statuses of an item command that ask for a retry, comma-separated (default 75, EX_TEMPFAIL; any other non-zero status is permanent).",
        transform: RetryOptions.exitCodes)
    public var retryExitCodes: Set<Int32> = [75]

    public init() {}

    /// The retry policy these flags set.
    public var policy: RetryPolicy {
        RetryPolicy(retries: retries, delay: retryDelay.duration, maxDelay: retryMaxDelay.duration)
    }

    /// The transient exit statuses, for `ItemCommandFailure.isTransient(exitCodes:)`.
    public var transientExitCodes: Set<Int32> { retryExitCodes }

    /// Parses `75` or `75,111`: statuses from 1 to 255.
    @Sendable public static func exitCodes(_ text: String) throws -> Set<Int32> {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let codes = parts.compactMap { Int32($0) }.filter { (1...255).contains($0) }
        guard !parts.isEmpty, codes.count == parts.count else {
            throw ArgumentRangeError(value: text, accepted: "exit statuses from 1 to 255, comma-separated (e.g. 75 or 75,111)")
        }
        return Set(codes)
    }
}
