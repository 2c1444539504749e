/// Progress at one moment: a `Sendable`, `Codable` value to log, store or render.
///
/// ```swift
/// let s = tracker.snapshot()
/// print(s)   // 41,200 / 152,265 (27.1 %) · 35.2/s · ETA 52m 34s · 3 failed
/// ```
public struct ProgressSnapshot: Sendable, Codable, Equatable, CustomStringConvertible {
    /// Items in all, when known.
    public var total: Int?
    /// Items completed in this run.
    public var completed: Int
    /// Items that failed in this run.
    public var failed: Int
    /// Items skipped because an earlier run had done them (they count as done, never toward the rate).
    public var skipped: Int
    /// Items per second over the recent past (a time-weighted average whose weights halve every half-life);
    /// `nil` before anything completed.
    public var ratePerSecond: Double?
    /// Seconds to go at the recent rate; `nil` while too little is known.
    public var etaSeconds: Double?
    /// Seconds since the run started.
    public var elapsedSeconds: Double
    /// Seconds since the last completed or failed item (or the start).
    public var secondsSinceProgress: Double

    /// Completed, failed or skipped.
    public var done: Int { completed + failed + skipped }

    /// Done / total, never above 1; `nil` without a total.
    public var fraction: Double? {
        guard let total, total > 0 else { return nil }
        return min(1, Double(done) / Double(total))
    }

    public var description: String {
        var parts: [String] = []
        if let total, let fraction {
            parts.append("\(done.formatted) / \(total.formatted) (\(String(format: "%.1f", fraction * 100)) %)")
        } else {
            parts.append("\(done.formatted) done")
        }
        parts.append(ratePerSecond.map { Self.rate($0) } ?? "–/s")
        parts.append("ETA " + (etaSeconds.map(Self.duration) ?? "unknown"))
        if failed > 0 { parts.append("\(failed.formatted) failed") }
        return parts.joined(separator: " · ")
    }

    package static func rate(_ r: Double) -> String {
        r >= 100 ? String(format: "%.0f/s", r) : r >= 1 ? String(format: "%.1f/s", r) : String(format: "%.1f/min", r * 60)
    }

    /// `1h 12m`, `4m 05s`, `37s`, `0.2s`.
    package static func duration(_ seconds: Double) -> String {
        if seconds < 10 && seconds != seconds.rounded() { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        if s >= 86_400 { return "\(s / 86_400)d \((s % 86_400) / 3600)h" }
        if s >= 3600 { return "\(s / 3600)h \(String(format: "%02d", (s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m \(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }
}
