import Foundation

/// The failure messages of a run, counted, so its summary can say what went wrong and how often
/// (`12 × exit status 3: no such file`) instead of only how many items failed. A message that names its item's key
/// is counted with the key taken out, so one cause over many items is one line.
///
/// ```swift
/// var tally = FailureTally()
/// tally.record("exit status 3: boom", key: "f1.txt")
/// tally.record("exit status 3: boom", key: "f2.txt")
/// print(tally.summary()!)   // most common failures: 2 × exit status 3: boom
/// ```
public struct FailureTally: Sendable, Equatable {
    /// One message and how many items failed with it.
    public struct Entry: Sendable, Equatable {
        /// The message, its item's key replaced by `<key>`.
        public var message: String
        /// Items that failed with it.
        public var count: Int

        /// An entry: `message`, `count` items.
        public init(message: String, count: Int) {
            self.message = message
            self.count = count
        }
    }

    private var counts: [String: Int] = [:]
    private var order: [String] = []

    /// Failures recorded.
    public private(set) var total = 0

    public init() {}

    /// Counts one failed item's message; `key`, when the message names it, is replaced by `<key>`.
    public mutating func record(_ message: String, key: String? = nil) {
        var text = message
        if let key, !key.isEmpty { text = text.replacingOccurrences(of: key, with: "<key>") }
        if counts[text] == nil { order.append(text) }
        counts[text, default: 0] += 1
        total += 1
    }

    /// The `limit` most common messages, most frequent first (the first seen first among equals).
    public func mostCommon(_ limit: Int = 3) -> [Entry] {
        let ranked = order.enumerated().sorted { a, b in
            let (ca, cb) = (counts[a.element]!, counts[b.element]!)
            return ca != cb ? ca > cb : a.offset < b.offset
        }
        return ranked.prefix(limit).map { Entry(message: $0.element, count: counts[$0.element]!) }
    }

    /// `most common failures: 12 × exit status 3: boom · 4 × timed out after 10s (and 2 other messages, 3
    /// items)`, or `nil` when nothing failed.
    public func summary(limit: Int = 3) -> String? {
        guard total > 0 else { return nil }
        let top = mostCommon(limit)
        var line = "most common failures: " + top.map { "\($0.count.formatted()) × \($0.message)" }.joined(separator: " · ")
        let others = order.count - top.count
        if others > 0 {
            let rest = total - top.reduce(0) { $0 + $1.count }
            line += " (and \(others.formatted()) other message\(others == 1 ? "" : "s"), \(rest.formatted()) item\(rest == 1 ? "" : "s"))"
        }
        return line
    }
}
