import ArgumentParser

/// A number on the command line outside what its flag accepts. Thrown from an `@Option(transform:)`, it becomes
/// swift-argument-parser's usage error (exit 64), which names the flag:
/// `Error: The value '1e300' is invalid for '--grace <grace>': expected seconds from 0 to 31536000 (365 days)`.
///
/// ```swift
/// @Option(help: "Items in flight at once.", transform: NumericArgument.count(in: 1...4096)) var jobs: Int = 4
/// ```
public struct ArgumentRangeError: Error, Sendable, CustomStringConvertible {
    /// The text given.
    public var value: String
    /// What the flag accepts, in words.
    public var accepted: String

    public init(value: String, accepted: String) {
        self.value = value
        self.accepted = accepted
    }

    public var description: String { "expected \(accepted)" }
}

/// Parsers for plain numbers with a range, for `@Option(transform:)`: a number the rest of the program cannot
/// represent (a `Duration` from `1e300` seconds, `nan`, a count that overflows) is a usage error, never a trap.
///
/// ```swift
/// @Option(transform: NumericArgument.seconds(in: 0...NumericArgument.maximumSeconds)) var grace: Double = 30
/// ```
public enum NumericArgument {
    /// 365 days, the longest span in seconds any flag accepts.
    public static let maximumSeconds: Double = 365 * 24 * 3600

    /// A whole number within `range`.
    public static func count(in range: ClosedRange<Int>) -> @Sendable (String) throws -> Int {
        { text in
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                throw ArgumentRangeError(value: text, accepted: "a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
    }

    /// A finite number of seconds within `range` (fractions allowed: `0.5`).
    public static func seconds(in range: ClosedRange<Double> = 0...maximumSeconds) -> @Sendable (String) throws -> Double {
        { text in
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, range.contains(value) else {
                throw ArgumentRangeError(value: text, accepted: "seconds from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))\(range.upperBound == maximumSeconds ? " (365 days)" : "")")
            }
            return value
        }
    }

    /// A finite number within `range`.
    public static func number(in range: ClosedRange<Double>) -> @Sendable (String) throws -> Double {
        { text in
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, range.contains(value) else {
                throw ArgumentRangeError(value: text, accepted: "a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))")
            }
            return value
        }
    }

    /// `30` rather than `30.0`; `0.5` as it is.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
