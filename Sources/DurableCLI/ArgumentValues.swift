import DurableIO
import ArgumentParser

/// A duration on the command line: `300`, `300s`, `50ms`, `5m`, `2h` (a bare number is seconds, kept for the
/// scripts written when durable-resume took plain seconds). Every duration flag of every DurableIO command parses
/// through it, so they all take the same syntax and refuse the same way (`30x`: a usage error, exit 64, naming the
/// flag and this syntax).
///
/// ```swift
/// @Option(help: "Cancel when nothing completes for this long.") var stallTimeout: DurationArgument = "300s"
/// let timeout: Duration = stallTimeout.duration
/// ```
public struct DurationArgument: ExpressibleByArgument, ExpressibleByStringLiteral, Sendable, CustomStringConvertible {
    /// The duration.
    public var duration: Duration
    public let description: String

    /// The longest duration any flag accepts: 365 days. Longer ones are refused rather than overflowing a clock.
    public static let maximum: Duration = .seconds(365 * 24 * 3600)

    /// What a duration flag accepts, for its usage error.
    public static let acceptedRange = "a duration from 0 to 8760h (365 days): 300s, 50ms, 5m or 2h (a bare number is seconds)"

    public init?(argument: String) {
        guard let parsed = try? Self.parse(argument) else { return nil }
        self = parsed
    }

    /// Parses `text`, or throws an ``ArgumentRangeError`` that says what is accepted (for `@Option(transform:)`,
    /// whose usage error names the flag).
    public static func parse(_ text: String) throws -> DurationArgument {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        let lowered = text.trimmingCharacters(in: .whitespaces).lowercased()
        let (number, scale) = units.first { lowered.hasSuffix($0.0) }.map { (String(lowered.dropLast($0.0.count)), $0.1) } ?? (lowered, 1)
        guard let value = Double(number), value.isFinite, value >= 0,
              value * scale <= Double(maximum.components.seconds) else {
            throw ArgumentRangeError(value: text, accepted: acceptedRange)
        }
        return DurationArgument(milliseconds: Int64((value * scale * 1000).rounded()), description: text)
    }

    /// A parser for a flag that accepts only durations within `range` (`--lease`: 300ms to 24h), for
    /// `@Option(transform:)`; outside it, an ``ArgumentRangeError`` that names the range in the same syntax.
    public static func parse(in range: ClosedRange<Duration>) -> @Sendable (String) throws -> DurationArgument {
        { text in
            let parsed = try? parse(text)
            guard let parsed, range.contains(parsed.duration) else {
                throw ArgumentRangeError(
                    value: text,
                    accepted: "a duration from \(format(range.lowerBound)) to \(format(range.upperBound)): 300ms, 30s, 5m or 2h (a bare number is seconds)")
            }
            return parsed
        }
    }

    /// `300ms`, `30s`, `5m`, `24h`: the largest unit that gives a whole number.
    static func format(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        for (unit, scale) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000)] where ms % scale == 0 && ms > 0 {
            return "\(ms / scale)\(unit)"
        }
        return "\(ms)ms"
    }

    private init(milliseconds: Int64, description: String) {
        duration = .milliseconds(milliseconds)
        self.description = description
    }

    /// A duration given in code (shown in `--help` as Swift prints it).
    public init(_ duration: Duration) {
        self.duration = duration
        self.description = "\(duration)"
    }

    public init(stringLiteral value: String) {
        guard let parsed = Self(argument: value) else { preconditionFailure("invalid duration literal \(value)") }
        self = parsed
    }

    public static var defaultCompletionKind: CompletionKind { .default }
}

/// A byte count on the command line: `4G`, `512M`, `64K`, `1000000` (powers of 1024 for the suffixes).
///
/// ```swift
/// @Option(help: "Resident + swap limit.") var memoryLimit: ByteCountArgument?
/// ```
public struct ByteCountArgument: ExpressibleByArgument, Sendable, CustomStringConvertible {
    /// The byte count.
    public var bytes: Int64
    public let description: String

    public init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).uppercased()
        let scales: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50]
        var digits = Substring(text)
        if digits.hasSuffix("B") { digits = digits.dropLast() }
        var scale: Int64 = 1
        if let last = digits.last, let s = scales[last] {
            scale = s
            digits = digits.dropLast()
        }
        guard let value = Double(digits), value.isFinite, value >= 0, value * Double(scale) <= Double(Self.maximum) else { return nil }
        bytes = Int64(value * Double(scale))
        description = argument
    }

    /// The largest byte count accepted: 1 PiB.
    public static let maximum: Int64 = 1 << 50

    /// Parses `text`, or throws an ``ArgumentRangeError`` saying what is accepted (for `@Option(transform:)`).
    public static func parse(_ text: String) throws -> ByteCountArgument {
        guard let parsed = ByteCountArgument(argument: text) else {
            throw ArgumentRangeError(value: text, accepted: "a byte count from 0 to 1P: 1000000, 64K, 512M, 4G or 1T (powers of 1024)")
        }
        return parsed
    }
}

/// A failure budget: `10` (items) or `5%` (of the run's items, done ones included).
///
/// ```swift
/// @Option(help: "Stop once more than N items (or N% of the run's items) failed.") var maxFailures: FailureBudgetArgument?
/// ```
public enum FailureBudgetArgument: ExpressibleByArgument, Sendable, Equatable {
    /// At most this many.
    case count(Int)
    /// At most this fraction (0…1).
    case fraction(Double)

    public init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("%") {
            guard let percent = Double(text.dropLast()), (0...100).contains(percent) else { return nil }
            self = .fraction(percent / 100)
        } else {
            guard let count = Int(text), count >= 0 else { return nil }
            self = .count(count)
        }
    }

    /// The budget the argument gives.
    public var budget: FailureBudget {
        switch self {
        case .count(let n): return .count(n)
        case .fraction(let f): return .fraction(f)
        }
    }

    /// Parses `text`, or throws an ``ArgumentRangeError`` saying what is accepted (for `@Option(transform:)`).
    public static func parse(_ text: String) throws -> FailureBudgetArgument {
        guard let parsed = FailureBudgetArgument(argument: text) else {
            throw ArgumentRangeError(value: text, accepted: "a count of items (0 or more) or a percentage from 0% to 100%")
        }
        return parsed
    }
}
