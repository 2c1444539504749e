import ArgumentParser

/// A duration on the command line: `300`, `300s`, `50ms`, `5m`, `2h` (a bare number is seconds).
///
/// ```swift
/// @Option(help: "Cancel when nothing completes for this long.") var stallTimeout: DurationArgument = "300s"
/// let timeout: Duration = stallTimeout.duration
/// ```
public struct DurationArgument: ExpressibleByArgument, ExpressibleByStringLiteral, Sendable, CustomStringConvertible {
    /// The duration.
    public var duration: Duration
    public let description: String

    public init?(argument: String) {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
            duration = .milliseconds(Int64((value * scale * 1000).rounded()))
            description = argument
            return
        }
        guard let value = Double(text), value >= 0, value.isFinite else { return nil }
        duration = .milliseconds(Int64((value * 1000).rounded()))
        description = argument
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
        let scales: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = Substring(text)
        if digits.hasSuffix("B") { digits = digits.dropLast() }
        var scale: Int64 = 1
        if let last = digits.last, let s = scales[last] {
            scale = s
            digits = digits.dropLast()
        }
        guard let value = Double(digits), value >= 0, value * Double(scale) < Double(Int64.max) else { return nil }
        bytes = Int64(value * Double(scale))
        description = argument
    }
}

/// A failure budget: `10` (items) or `5%` (of the pending items).
///
/// ```swift
/// @Option(help: "Stop once more than N items (or N% of the pending) failed.") var maxFailures: FailureBudgetArgument?
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
}
