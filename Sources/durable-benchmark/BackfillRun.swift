import DurableSQLite
import Foundation

/// One latency a load process recorded.
struct LatencySample {
    var t: Double
    var milliseconds: Double
    /// 0 ok, 1 SQLITE_BUSY, 2 another error.
    var result: Int

    static func read(_ path: String) throws -> [LatencySample] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ",")
            guard fields.count == 3, let t = Double(fields[0]), let ms = Double(fields[1]), let r = Int(fields[2]) else { return nil }
            return LatencySample(t: t, milliseconds: ms, result: r)
        }
    }
}

/// Percentiles of the calls that started during a backfill.
struct LatencyStats {
    var count = 0
    var p50 = Double.nan, p95 = Double.nan, p99 = Double.nan, max = Double.nan
    var busy = 0
    var errors = 0

    init(_ samples: [LatencySample]) {
        count = samples.count
        busy = samples.filter { $0.result == 1 }.count
        errors = samples.filter { $0.result == 2 }.count
        let sorted = samples.map(\.milliseconds).sorted()
        guard !sorted.isEmpty else { return }
        func at(_ q: Double) -> Double { sorted[Swift.min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1)] }
        p50 = at(0.50)
        p95 = at(0.95)
        p99 = at(0.99)
        max = sorted.last!
    }

    var cells: String {
        guard count > 0 else { return "– | –" }
        return String(format: "%.1f / %.1f / %.1f / %.0f", p50, p95, p99, max) + " | \(busy)" + (errors > 0 ? " (+\(errors) other)" : "")
    }
}

/// One backfill under load, and what it measured.
struct BackfillRun {
    enum Variant: String { case oneShot = "one-shot", durable = "durable-backfill" }
    struct Batch { var t: Double; var seconds: Double; var rows: Int; var limit: Int }

    var variant: Variant
    /// The durable backfill's nice ratio (default: durable-backfill's).
    var niceRatio = BackfillOptions().niceRatio
    var mode: String
    var round: Int
    var start = 0.0
    var end = 0.0
    var changed = 0
    var examined: Int?
    var batches: [Batch] = []
    var samples: [String: [LatencySample]] = [:]
    var walPeak = 0
    var recordedWALPeak: Int?

    var total: Double { end - start }

    /// `one-shot`, `durable-backfill` (defaults), or `durable-backfill nice 0.5`.
    var label: String { variant == .durable && niceRatio != BackfillOptions().niceRatio ? "\(variant.rawValue) nice \(niceRatio)" : variant.rawValue }

    /// Latencies of the calls that started while the backfill ran (or, for the baseline, before it started).
    func stats(_ role: String, baseline: Bool = false) -> LatencyStats {
        LatencyStats((samples[role] ?? []).filter { baseline ? $0.t < start : $0.t >= start && $0.t <= end })
    }

    /// Median batch seconds and median microseconds per examined row over the first and the last tenth of batches.
    var tenths: (firstBatch: Double, lastBatch: Double, firstPerRow: Double, lastPerRow: Double)? {
        guard batches.count >= 20 else { return nil }
        let n = batches.count / 10
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let first = Array(batches.prefix(n)), last = Array(batches.suffix(n))
        let perRow = { (b: Batch) in b.rows > 0 ? b.seconds / Double(b.rows) * 1e6 : .nan }
        return (median(first.map(\.seconds)), median(last.map(\.seconds)),
                median(first.map(perRow).filter { !$0.isNaN }), median(last.map(perRow).filter { !$0.isNaN }))
    }

    var summaryLine: String {
        let r = stats("reader"), w = stats("writer"), rb = stats("reader", baseline: true), wb = stats("writer", baseline: true)
        return String(format: "%@ %@ round %d: %.1f s · reader p99 %.1f ms (%d busy; before: %.1f ms) · writer p99 %.1f ms (%d busy; before: %.1f ms) · WAL peak %.1f MB · %d batches",
                      mode, label, round, total, r.p99, r.busy, rb.p99, w.p99, w.busy, wb.p99, Double(walPeak) / 1e6, batches.count)
    }

    /// The Markdown table for Documentation/Benchmarks.md.
    static func table(_ runs: [BackfillRun]) -> String {
        var lines = [
            "| mode | backfill | round | total | reader p50 / p95 / p99 / max (ms) | reader busy | writer p50 / p95 / p99 / max (ms) | writer busy | WAL peak | batches | batch time, first → last tenth | per row, first → last tenth |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for run in runs {
            let tenths = run.tenths.map {
                (String(format: "%.1f → %.1f ms (%.2f×)", $0.firstBatch * 1e3, $0.lastBatch * 1e3, $0.lastBatch / $0.firstBatch),
                 String(format: "%.1f → %.1f µs (%.2f×)", $0.firstPerRow, $0.lastPerRow, $0.lastPerRow / $0.firstPerRow))
            } ?? ("–", "–")
            lines.append(
                "| \(run.mode) | \(run.label) | \(run.round) | " + String(format: "%.1f s", run.total)
                    + " | \(run.stats("reader").cells) | \(run.stats("writer").cells) | "
                    + (run.mode == "wal" ? String(format: "%.1f MB", Double(run.walPeak) / 1e6) : "–")
                    + " | \(run.batches.isEmpty ? "1 statement" : "\(run.batches.count)") | \(tenths.0) | \(tenths.1) |")
        }
        return lines.joined(separator: "\n")
    }

    static func writeCSV(_ runs: [BackfillRun], to directory: String) throws {
        var latencies = ["mode,variant,round,process,t,latency_ms,result"]
        var summary = ["mode,variant,round,total_seconds,wal_peak_bytes,changed,batches"]
        var batches = ["mode,variant,round,index,t,seconds,rows,limit"]
        for run in runs {
            let key = "\(run.mode),\(run.label),\(run.round)"
            summary.append("\(key),\(String(format: "%.3f", run.total)),\(run.walPeak),\(run.changed),\(run.batches.count)")
            for (role, samples) in run.samples.sorted(by: { $0.key < $1.key }) {
                for s in samples {
                    latencies.append("\(key),\(role),\(String(format: "%.4f", s.t - run.start)),\(String(format: "%.3f", s.milliseconds)),\(s.result)")
                }
            }
            for (i, b) in run.batches.enumerated() {
                batches.append("\(key),\(i),\(String(format: "%.4f", b.t - run.start)),\(String(format: "%.5f", b.seconds)),\(b.rows),\(b.limit)")
            }
        }
        try (latencies.joined(separator: "\n") + "\n").write(toFile: directory + "/latencies.csv", atomically: true, encoding: .utf8)
        try (summary.joined(separator: "\n") + "\n").write(toFile: directory + "/runs.csv", atomically: true, encoding: .utf8)
        try (batches.joined(separator: "\n") + "\n").write(toFile: directory + "/batches.csv", atomically: true, encoding: .utf8)
    }
}

extension BackfillRun {
    /// The median of `values` that are numbers (a run without a writer has NaN for its latencies): what the median
    /// table and the report lines both print, so the two agree.
    static func median(_ values: [Double]) -> Double { values.filter { !$0.isNaN }.median }

    /// Medians over rounds for each mode and backfill, busy errors summed, and the median of the per-round ratios
    /// of total time to the one-shot `UPDATE`'s.
    static func medianTable(_ runs: [BackfillRun]) -> String {
        func latency(_ group: [BackfillRun], _ role: String) -> String {
            let stats = group.map { $0.stats(role) }
            guard stats.contains(where: { $0.count > 0 }) else { return "– | –" }
            return String(format: "%.1f / %.1f / %.1f / %.0f", median(stats.map(\.p50)), median(stats.map(\.p95)),
                          median(stats.map(\.p99)), median(stats.map(\.max))) + " | \(stats.map(\.busy).reduce(0, +))"
        }
        var lines = [
            "| mode | backfill | rounds | total (ratio to one-shot) | reader p50 / p95 / p99 / max (ms) | reader busy | writer p50 / p95 / p99 / max (ms) | writer busy | WAL peak | batches | batch time, last / first tenth | per row, last / first tenth |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        var order: [String] = []
        for run in runs where !order.contains("\(run.mode)|\(run.label)") { order.append("\(run.mode)|\(run.label)") }
        for key in order {
            let group = runs.filter { "\($0.mode)|\($0.label)" == key }
            let first = group[0]
            let ratios = group.compactMap { run -> Double? in
                guard let base = runs.first(where: { $0.mode == run.mode && $0.round == run.round && $0.variant == .oneShot }) else { return nil }
                return run.total / base.total
            }
            let tenths = group.compactMap(\.tenths)
            lines.append(
                "| \(first.mode) | \(first.label) | \(group.count) | "
                    + String(format: "%.1f s (%.2f×)", median(group.map(\.total)), median(ratios))
                    + " | \(latency(group, "reader")) | \(latency(group, "writer")) | "
                    + (first.mode == "wal" ? String(format: "%.1f MB", median(group.map { Double($0.walPeak) / 1e6 })) : "–")
                    + " | " + (first.variant == .oneShot ? "1 statement" : String(format: "%.0f", median(group.map { Double($0.batches.count) })))
                    + " | " + (tenths.isEmpty ? "–" : String(format: "%.2f×", median(tenths.map { $0.lastBatch / $0.firstBatch })))
                    + " | " + (tenths.isEmpty ? "–" : String(format: "%.2f×", median(tenths.map { $0.lastPerRow / $0.firstPerRow }))) + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// Issue 18's target 5 per mode and nice ratio, as report lines: total ≤ 2× the one-shot `UPDATE` (median of
    /// the per-round ratios) while the reader's p99 stays under 50 ms and, in WAL mode, the writer's under 100 ms
    /// with no busy error (medians over the rounds, busy errors summed).
    static func printResults(_ runs: [BackfillRun]) {
        var order: [String] = []
        for run in runs where run.variant == .durable && !order.contains("\(run.mode)|\(run.niceRatio)") {
            order.append("\(run.mode)|\(run.niceRatio)")
        }
        for key in order {
            let group = runs.filter { $0.variant == .durable && "\($0.mode)|\($0.niceRatio)" == key }
            let oneShots = group.compactMap { run in runs.first { $0.mode == run.mode && $0.round == run.round && $0.variant == .oneShot } }
            let ratio = median(zip(group, oneShots).map { $0.total / $1.total })
            let reader = median(group.map { $0.stats("reader").p99 })
            let writers = group.map { $0.stats("writer") }.filter { $0.count > 0 }
            let writer = median(writers.map(\.p99))
            let busy = writers.map(\.busy).reduce(0, +)
            let mode = group[0].mode
            var met = ratio <= 2 && reader < 50
            var latencies = String(format: "reader p99 %.1f ms", reader)
            if !writers.isEmpty {
                met = met && writer < 100 && busy == 0
                latencies += String(format: ", writer p99 %.1f ms, %d busy", writer, busy)
            }
            result(
                5, "backfill, \(mode), nice ratio \(group[0].niceRatio), \(group.count) round(s): total / one-shot (\(latencies))",
                String(format: "%.2f×", ratio), baseline: String(format: "one-shot %.1f s", median(oneShots.map(\.total))),
                goal: "≤ 2×, reader p99 < 50 ms" + (writers.isEmpty ? "" : ", writer p99 < 100 ms, 0 busy"), met: met)
        }
    }
}
