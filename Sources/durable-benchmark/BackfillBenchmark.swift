import ArgumentParser
import DurableSQLite
import Foundation
import GRDB

/// The incident of `seeds/004`, reproduced: a correlated `UPDATE` of every transmission's `last_seen` from its
/// observations, run as one statement and as `durable-backfill` with its defaults, while a reader process and
/// the application's writer process record every latency — in WAL mode and in rollback-journal mode.
struct BackfillBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "One-shot UPDATE vs durable-backfill on the incident's database, with a reader and a writer running.",
        discussion: "Writes CSV files for Scripts/plot_backfill_benchmark.py. Build in release mode.")

    @Option(help: "Directory for the databases.") var dir: String = FileManager.default.temporaryDirectory.path
    @Option(help: "Where the CSV files go.") var csv: String = "backfill-benchmark"
    @Option var transmissions: Int = 71_000
    @Option var observations: Int = 1_500_000
    @Option(help: "Journal modes to compare: wal, rollback.") var modes: [String] = ["wal", "rollback"]
    @Option(help: "Nice ratios of the durable runs (repeat the option for several; 0.5 is the default of durable-backfill).") var niceRatios: [Double] = [BackfillOptions().niceRatio]
    @Option(help: "Interleaved rounds (medians are reported).") var rounds: Int = 1
    @Option(help: "Seconds of load before and after each backfill.") var settle: Double = 3
    @Option(help: "Application writer transactions per second in WAL mode.") var writerRate: Double = 200
    @Option(help: "Application writer transactions per second in rollback-journal mode (0: no writer; at 200/s its own fsyncs already starve readers there).")
    var rollbackWriterRate: Double = 0

    static let definition = BackfillDefinition(
        name: "tx_last_seen_backfill_v1", table: "transmissions",
        set: "last_seen = COALESCE((SELECT MAX(timestamp) FROM observations WHERE transmission_id = transmissions.id), last_seen)",
        where: "last_seen = 0", key: "id")

    func run() throws {
        let root = URL(fileURLWithPath: dir).appendingPathComponent("backfill-benchmark-\(getpid())").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: csv, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let base = root + "/base.db"
        print("building the incident's database: \(transmissions.formatted) transmissions, \(observations.formatted) observations …")
        let built = try time { try IncidentDatabase.build(base, transmissions: transmissions, observations: observations) }
        let size = (try FileManager.default.attributesOfItem(atPath: base)[.size] as? NSNumber)?.intValue ?? 0
        print(String(format: "built in %.1f s: %.0f MB", built, Double(size) / 1e6))

        var results: [BackfillRun] = []
        for round in 0..<rounds {
            for mode in modes {
                let durable = niceRatios.map { (BackfillRun.Variant.durable, $0) }
                let variants = round % 2 == 0 ? [(.oneShot, 1.0)] + durable : durable.reversed() + [(.oneShot, 1.0)]
                for (variant, nice) in variants {
                    let run = try measure(variant, niceRatio: nice, mode: mode, round: round, base: base, root: root)
                    print(run.summaryLine)
                    results.append(run)
                }
            }
        }
        try BackfillRun.writeCSV(results, to: csv)
        print("\n## Every run\n\n" + BackfillRun.table(results))
        print("\n## Medians over \(rounds) interleaved round(s)\n\n" + BackfillRun.medianTable(results))
        BackfillRun.printResults(results)
        print("CSV written to \(csv)/; plot with: python3 Scripts/plot_backfill_benchmark.py \(csv) Documentation/backfill-benchmark.png")
    }

    func measure(_ variant: BackfillRun.Variant, niceRatio: Double, mode: String, round: Int, base: String, root: String) throws -> BackfillRun {
        let path = root + "/\(mode)-\(variant.rawValue)-\(niceRatio)-\(round).db"
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        try FileManager.default.copyItem(atPath: base, toPath: path)
        let setup = try DatabaseQueue(path: path)
        try setup.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = \(mode == "wal" ? "WAL" : "DELETE")")
        }
        try setup.close()

        let stop = path + ".stop"
        let self_ = Bundle.main.executableURL!
        var children: [(Process, String, String)] = []
        let rate = mode == "wal" ? writerRate : rollbackWriterRate
        for role in rate > 0 ? ["reader", "writer"] : ["reader"] {
            let out = path + ".\(role).csv"
            let process = Process()
            process.executableURL = self_
            process.arguments = ["backfill-load", "--role", role, "--db", path, "--out", out, "--stop", stop,
                                 "--rate", "\(rate)", "--transmissions", "\(transmissions)"]
            try process.run()
            children.append((process, role, out))
        }
        let sampler = WALSampler(path: path + "-wal")
        sampler.start()
        Thread.sleep(forTimeInterval: settle)

        var run = BackfillRun(variant: variant, niceRatio: niceRatio, mode: mode, round: round)
        run.start = now()
        switch variant {
        case .oneShot:
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.inDatabase { db in
                try db.inTransaction(.immediate) {
                    try db.execute(sql: "UPDATE transmissions SET \(Self.definition.setClause) WHERE \(Self.definition.predicate!)")
                    run.changed = db.changesCount
                    return .commit
                }
            }
        case .durable:
            var previous = 0
            var options = BackfillOptions()
            options.niceRatio = niceRatio
            let outcome = try Backfill.run(Self.definition, options: options, in: path) { record in
                run.batches.append(.init(t: now(), seconds: record.lastBatchSeconds ?? 0, rows: record.examinedRows - previous, limit: record.lastBatchSize ?? 0))
                previous = record.examinedRows
            }
            run.changed = outcome.record.changedRows
            run.examined = outcome.record.examinedRows
            run.recordedWALPeak = outcome.record.walPeakBytes
        }
        run.end = now()
        Thread.sleep(forTimeInterval: settle)
        _ = FileManager.default.createFile(atPath: stop, contents: nil)
        for (process, role, out) in children {
            process.waitUntilExit()
            run.samples[role] = try LatencySample.read(out)
        }
        run.walPeak = sampler.stop()
        return run
    }
}

/// Samples a WAL file's size every 10 ms on a thread of its own; `stop()` returns the largest size seen.
final class WALSampler: @unchecked Sendable {  // `peak` and `running` are guarded by `lock`
    let path: String
    private let lock = NSLock()
    private var peak = 0
    private var running = true
    private let done = DispatchSemaphore(value: 0)

    init(path: String) { self.path = path }

    func start() {
        Thread { [self] in
            while lock.withLock({ running }) {
                let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
                lock.withLock { peak = max(peak, size) }
                Thread.sleep(forTimeInterval: 0.01)
            }
            done.signal()
        }.start()
    }

    func stop() -> Int {
        lock.withLock { running = false }
        done.wait()
        return lock.withLock { peak }
    }
}
