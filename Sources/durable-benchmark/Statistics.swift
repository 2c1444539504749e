import Foundation

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Seconds taken by `body`.
func time(_ body: () throws -> Void) rethrows -> Double {
    let start = now()
    try body()
    return now() - start
}

extension Array where Element == Double {
    var median: Double {
        let sorted = self.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

func microseconds(_ seconds: Double) -> String { String(format: "%.1f µs", seconds * 1e6) }
func milliseconds(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1e3) }
func ratio(_ value: Double) -> String { String(format: "%.2f×", value) }

/// Peak resident memory of this process (VmHWM), in MiB.
func peakResidentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kb / 1024
    }
    return .nan
}

/// One line of the report `Scripts/benchmark-report.sh` collects (every line starting with `RESULT`): the issue's
/// target number, what was measured, the figure, its baseline from the same run, the goal, and met or missed.
func result(_ target: Int, _ what: String, _ figure: String, baseline: String = "–", goal: String, met: Bool?) {
    print("RESULT \(target) | \(what) | \(figure) | \(baseline) | \(goal) | \(met.map { $0 ? "met" : "missed" } ?? "–")")
}
