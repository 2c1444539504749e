import ArgumentParser

/// A duration on the command line: `50ms`, `1.5s`, `2m`, `0`.
struct DurationArgument: ExpressibleByArgument, Sendable {
    let duration: Duration

    init(_ duration: Duration) { self.duration = duration }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        if text == "0" {
            duration = .zero
            return
        }
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
            duration = .milliseconds(value * scale * 1000)
            return
        }
        return nil
    }

    var defaultValueDescription: String { "\(duration)" }
}

import Foundation
