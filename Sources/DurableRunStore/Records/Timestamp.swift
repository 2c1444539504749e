import Foundation

/// Times as the database stores them: ISO 8601 in UTC with milliseconds (`2026-11-23T10:57:57.123Z`), which sort
/// as text in time order.
package enum Timestamp {
    package static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    package static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        return (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }
}
