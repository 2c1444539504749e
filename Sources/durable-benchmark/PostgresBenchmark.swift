import ArgumentParser
import DurablePostgres
import DurableRun
import DurableRunStore
import Foundation
import PostgresNIO

/// `durable-benchmark postgres`: many workers on one run in a PostgreSQL store — items/s for 1, 2, 4 and 8 workers
/// with a per-item command that sleeps 50 ms, claim / commit / renewal latency, the store's ceiling with an
/// in-process echo, and the tables' sizes per item.
struct PostgresBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres", abstract: "Measure durable-resume on PostgreSQL: workers, claims, leases, sizes.")

    @Option(help: "The server: postgres://user[:password]@host[:port]/database (a throwaway database; schemas are created and dropped).")
    var store: String

    @Option(help: "Worker counts, comma-separated.")
    var workers: String = "1,2,4,8"

    @Option(help: "Items per worker in the command runs (each run has workers × this many items; 0 skips them).")
    var itemsPerWorker: Int = 200

    @Option(help: "The per-item command.")
    var command: String = "sleep 0.05; cat"

    @Option(help: "Seconds a lease lasts in the command runs (renewed every third of it).")
    var lease: Double = 3

    @Option(help: "Items in the ceiling runs (in-process echo, no command).")
    var ceilingItems: Int = 20_000

    @Option(help: "A per-item command for the ceiling runs instead of the in-process echo (e.g. cat).")
    var ceilingCommand: String?

    @Option(help: "Rounds of each ceiling run (each row is printed, then the medians).")
    var rounds: Int = 1

    mutating func run() async throws {
        let location = try PostgresLocation(store)
        let root = FileManager.default.temporaryDirectory.path + "/durable-pg-benchmark-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let levels = workers.split(separator: ",").compactMap { Int($0) }
        print("durable-resume on PostgreSQL — \(ProcessInfo.processInfo.activeProcessorCount) cores, server \(location.redacted)")

        if itemsPerWorker > 0 {
            print("\n## Workers on one run, per-item command `\(command)`, --jobs 1 each, lease \(lease) s, batch 100 / 5 s")
            print("| workers | items | seconds | items/s | per worker | claim p50 | claim p99 | commit p50 | commit p99 | renew p50 |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            for level in levels {
                let count = level * itemsPerWorker
                let configuration = RunConfiguration(command: command)
                let r = try await measure(location, root: root, count: count, workers: level, jobs: 1, claimSize: nil, lease: lease, configuration: configuration) { item in
                    try await ItemCommand(configuration.command).run(argument: item.key, standardInput: Array((item.json + "\n").utf8))
                }
                print(String(format: "| %d | %d | %.1f | **%.1f** | %.1f | %@ | %@ | %@ | %@ | %@ |", level, count, r.seconds, Double(count) / r.seconds,
                             Double(count) / r.seconds / Double(level), milliseconds(r.claims.percentile(50)), milliseconds(r.claims.percentile(99)),
                             milliseconds(r.commits.percentile(50)), milliseconds(r.commits.percentile(99)), milliseconds(r.renewals.percentile(50))))
            }
        }

        let what = ceilingCommand.map { "per-item command `\($0)`" } ?? "in-process echo (no command)"
        print("\n## The store's ceiling: \(what), --jobs 4 per worker, claims of 10, batch 100, \(rounds) round(s)")
        print("| workers | items | seconds | items/s | claims/s | claim p50 | claim p99 | commit p50 | commit p99 |")
        print("|---|---|---|---|---|---|---|---|---|")
        var sizes = ""
        let ceilingCommand = self.ceilingCommand
        for level in levels {
            var perRound: [(rate: Double, p50: Double, p99: Double)] = []
            for round in 1...max(rounds, 1) {
                let configuration = RunConfiguration(command: ceilingCommand ?? "echo")
                let r = try await measure(
                    location, root: root, count: ceilingItems, workers: level, jobs: 4, claimSize: 10, configuration: configuration,
                    keep: level == levels.last && round == max(rounds, 1)
                ) { item in
                    guard let command = ceilingCommand else { return Array(item.json.utf8) }
                    return try await ItemCommand(command).run(argument: item.key, standardInput: Array((item.json + "\n").utf8))
                }
                print(String(format: "| %d | %d | %.2f | **%.0f** | %.0f | %@ | %@ | %@ | %@ |", level, ceilingItems, r.seconds, Double(ceilingItems) / r.seconds,
                             Double(r.claims.count) / r.seconds, milliseconds(r.claims.percentile(50)), milliseconds(r.claims.percentile(99)),
                             milliseconds(r.commits.percentile(50)), milliseconds(r.commits.percentile(99))))
                perRound.append((Double(ceilingItems) / r.seconds, r.claims.percentile(50), r.claims.percentile(99)))
                if let s = r.sizes { sizes = s }
            }
            result(
                4, "PostgreSQL, \(ceilingItems.formatted()) items, \(level) workers, \(what): items/s, claim p50 / p99 (medians of \(perRound.count))",
                String(format: "%.0f/s, %@ / %@", perRound.map(\.rate).median, milliseconds(perRound.map(\.p50).median), milliseconds(perRound.map(\.p99).median)),
                goal: "report", met: nil)
        }
        print("\n## Sizes after one \(ceilingItems.formatted())-item run (each result the item echoed)\n\(sizes)")
    }

    struct Measurement {
        var seconds: Double
        var claims: [Double]
        var commits: [Double]
        var renewals: [Double]
        var sizes: String?
    }

    /// One run of `count` items in a fresh schema, worked by `workers` in-process workers, each with its own store
    /// (connection pool), as separate processes would be.
    func measure(
        _ location: PostgresLocation, root: String, count: Int, workers: Int, jobs: Int, claimSize: Int?, lease: Double = 30,
        configuration: RunConfiguration, keep: Bool = false, process: @escaping ResumableRunner.Process
    ) async throws -> Measurement {
        let schema = "bench_\(ProcessInfo.processInfo.processIdentifier)_\(workers)_\(count)"
        let csv = "\(root)/\(schema).csv"
        try ("id,text\n" + (1...count).map { "\($0),\"item \($0): \(String(repeating: "x", count: 200))\"" }.joined(separator: "\n") + "\n")
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let admin = try await PostgresRunStore.connect(to: location, schema: schema)
        let source = try await admin.ingest(try SourceFile(path: csv, idColumns: ["id"]), allowNewVersion: false).source
        let run = try await admin.createRun(id: "bench", name: nil, source: source, configuration: configuration, startedAt: Date())
        var stores: [TimedClaimingStore] = []
        for _ in 0..<workers {
            stores.append(TimedClaimingStore(try await PostgresRunStore.connect(to: location, schema: schema, maximumConnections: 2)))
        }
        let start = now()
        let outcomes = try await withThrowingTaskGroup(of: WorkerOutcome.self) { group in
            for store in stores {
                group.addTask {
                    try await LeasedWorker(store: store, options: .init(jobs: jobs, claimSize: claimSize, lease: .milliseconds(Int64(lease * 1000))))
                        .work(runID: run.id, process: process)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let seconds = now() - start
        let final = try await admin.run(id: run.id)!
        precondition(final.status == .completed && outcomes.map(\.recorded).reduce(0, +) == count, "run ended \(final.status)")
        var sizes: String?
        if keep { sizes = try await self.sizes(admin, count: count) }
        for store in stores { await (store.base as! PostgresRunStore).close() }
        try await admin.rows("drop", .init(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"))
        await admin.close()
        return Measurement(
            seconds: seconds, claims: stores.flatMap(\.claims), commits: stores.flatMap(\.commits),
            renewals: stores.flatMap(\.renewals), sizes: sizes)
    }

    func sizes(_ store: PostgresRunStore, count: Int) async throws -> String {
        var lines = ["| relation | bytes | per item |", "|---|---|---|"]
        let relations = [
            "source_items", "source_items_pkey", "source_items_source_id_item_key_key", "source_items_by_position",
            "run_items", "run_items_pkey", "run_items_claimable", "run_items_by_lease",
            "results", "results_pkey", "results_by_error",
        ]
        for relation in relations {
            let bytes = try await store.rows("size", "SELECT pg_total_relation_size(\(relation)::regclass)::BIGINT").first!.decode(Int.self)
            lines.append(String(format: "| %@ | %@ | %.0f |", relation, bytes.formatted(), Double(bytes) / Double(count)))
        }
        return lines.joined(separator: "\n")
    }
}
