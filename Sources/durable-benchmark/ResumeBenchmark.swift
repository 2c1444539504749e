import ArgumentParser
import DurableRun
import DurableRunStore
import DurableSQLite
import Foundation
import GRDB

/// `durable-benchmark resume`: a 42,000-item run through durable-resume's library with a trivial per-item command at
/// several `--jobs`, the cost of resume planning with 30,000 of 42,000 done, and the database's size.
struct ResumeBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Measure durable-resume: items/s, resume planning, database size.")

    @Option(help: "Directory for the files (on the disk you want to measure).")
    var dir: String = FileManager.default.temporaryDirectory.path

    @Option(help: "Items in the source.")
    var items: Int = 42_000

    @Option(help: "Items already done when resume planning is measured.")
    var done: Int = 30_000

    @Option(help: "Concurrency levels to measure, comma-separated.")
    var jobs: String = "1,8"

    @Option(help: "The trivial per-item command.")
    var command: String = "cat"

    mutating func run() async throws {
        let root = "\(dir)/durable-resume-benchmark-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let csv = "\(root)/narratives.csv"
        try Self.makeSource(csv, count: items)
        let sourceBytes = (try FileManager.default.attributesOfItem(atPath: csv)[.size] as? Int) ?? 0
        print("durable-resume benchmark — \(ProcessInfo.processInfo.activeProcessorCount) cores, \(items.formatted()) items (\(String(format: "%.1f", Double(sourceBytes) / 1e6)) MB CSV), files in \(root)")

        // Ingest.
        let ingestDB = "\(root)/ingest.sqlite"
        let store0 = try SQLiteRunStore(path: ingestDB)
        let source = try SourceFile(path: csv, idColumns: ["incident_id", "narrative_type"])
        var ingestSeconds = 0.0
        var version: SourceVersion!
        ingestSeconds = try await Self.seconds { version = try await store0.ingest(source, allowNewVersion: false).source }
        let skipSeconds = try await Self.seconds { _ = try await store0.ingest(source, allowNewVersion: false) }
        print("\n## Ingest (CSV, composite id, SHA-256, one transaction)")
        print(String(format: "ingest: %.2f s (%.0f items/s); second ingest of the same file (checksum only, skipped): %.1f ms", ingestSeconds, Double(items) / ingestSeconds, skipSeconds * 1e3))

        // Whole runs with the per-item command.
        print("\n## A \(items.formatted())-item run, per-item command `\(command)` (sh -c, its own process group), batch 100")
        var sizeLine = ""
        for level in jobs.split(separator: ",").compactMap({ Int($0) }) {
            let path = "\(root)/run-j\(level).sqlite"
            let store = try SQLiteRunStore(path: path)
            let pinned = try await store.ingest(source, allowNewVersion: false).source
            let configuration = RunConfiguration(command: command)
            let outcome = try await ResumableRunner(store: store).start(
                source: pinned, name: "bench", configuration: configuration, options: .init(jobs: level),
                process: { item in try await ItemCommand(configuration.command).run(argument: item.key, standardInput: Array((item.json + "\n").utf8)) })
            precondition(outcome.run.status == .completed, "run ended \(outcome.run.status)")
            print(String(format: "--jobs %d: %.1f s, %.0f items/s", level, outcome.seconds, Double(outcome.processed) / outcome.seconds))
            result(
                8, "durable-resume --jobs \(level), \(items.formatted()) items, `\(command)`, every batch synced",
                String(format: "%.0f items/s", Double(outcome.processed) / outcome.seconds),
                baseline: level == 1 ? "338/s unsynced (2026-11-23)" : level == 8 ? "640/s unsynced (2026-11-23)" : "–", goal: "report the syncs' cost", met: nil)
            if sizeLine.isEmpty { sizeLine = Self.sizes(path, store: store, items: items) }
        }
        // The store's own ceiling: the same run with an in-process "command".
        let inProcess = "\(root)/run-inprocess.sqlite"
        let store1 = try SQLiteRunStore(path: inProcess)
        let pinned = try await store1.ingest(source, allowNewVersion: false).source
        let outcome = try await ResumableRunner(store: store1).start(
            source: pinned, name: "bench", configuration: RunConfiguration(command: "in-process"), options: .init(jobs: 1),
            process: { item in Array(item.json.utf8) })
        print(String(format: "in-process echo (no subprocess; the store's ceiling, batch 100, synchronous=FULL): %.2f s, %.0f items/s", outcome.seconds, Double(outcome.processed) / outcome.seconds))

        // Resume planning.
        print("\n## Resume planning: remaining items of \(items.formatted()) with \(done.formatted()) done (median of 7)")
        let runID = "planning"
        let run = try await store0.createRun(id: runID, name: nil, source: version, configuration: .init(command: "cat"), startedAt: Date())
        let all = try await store0.remainingItems(forRun: run.id, selection: .missingOnly)
        var index = 0
        while index < done {
            let batch = all[index..<min(done, index + 1000)].enumerated().map { offset, item in
                (index + offset) % 10 == 0
                    ? ItemResult(itemID: item.id, error: ItemFailure(message: "exit status 1", category: "command"))
                    : ItemResult(itemID: item.id, output: item.json)
            }
            _ = try await store0.commit(batch, forRun: runID, progress: .init(etaSeconds: nil))
            index += batch.count
        }
        var missing: [Double] = []
        var errors: [Double] = []
        var counts = (0, 0)
        for _ in 0..<7 {
            missing.append(try await Self.seconds { counts.0 = try await store0.remainingItems(forRun: runID, selection: .missingOnly).count })
            errors.append(try await Self.seconds { counts.1 = try await store0.remainingItems(forRun: runID, selection: .retryErrorsOnly).count })
        }
        precondition(counts.0 == items - done, "planned \(counts.0)")
        print(String(format: "missing-only: %d items in %.1f ms (target < 100 ms)", counts.0, missing.median * 1e3))
        print(String(format: "retry-errors-only: %d items in %.1f ms", counts.1, errors.median * 1e3))
        let fresh = try await Self.seconds {
            let reopened = try SQLiteRunStore(path: ingestDB)
            _ = try await reopened.remainingItems(forRun: runID, selection: .missingOnly)
        }
        print(String(format: "open + migrate check + missing-only, first in this process: %.1f ms", fresh * 1e3))

        print("\n## Database size after one \(items.formatted())-item run")
        print(sizeLine)
    }

    static func sizes(_ path: String, store: SQLiteRunStore, items: Int) -> String {
        func size(_ p: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
        _ = try? store.pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        let main = size(path)
        return String(format: "database %.1f MB (source items + results, each result the item's JSON echoed), WAL after a checkpoint %.1f MB; %.0f bytes per item", Double(main) / 1e6, Double(size(path + "-wal")) / 1e6, Double(main) / Double(items))
    }

    static func seconds(_ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// A CSV like the spec's: `count / 2` incidents × 2 narrative types, a narrative of about 300 characters.
    static func makeSource(_ path: String, count: Int) throws {
        var text = "incident_id,narrative_type,narrative\n"
        let words = ["vehicle", "struck", "pedestrian", "crossing", "at", "night", "driver", "reported", "visibility", "poor,", "\"quoted\"", "witness"]
        for i in 0..<count {
            var narrative = ""
            var w = UInt(i)
            while narrative.count < 300 {
                narrative += words[Int(w % UInt(words.count))] + " "
                w = w &* 31 &+ 7
            }
            let escaped = "\"" + narrative.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            text += "INC\(100_000 + i / 2),\(i % 2 == 0 ? "initial" : "supplement"),\(escaped)\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
