import ArgumentParser
import DurableIO
import Foundation
import SystemPackage

/// Prints DurableIO's figures beside the machine's limit and the alternatives, in one run.
@main
struct DurableBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-benchmark",
        abstract: "Measure DurableIO against a raw write+fdatasync loop and the usual alternatives.",
        discussion: "Build in release mode: swift run -c release durable-benchmark",
        subcommands: [
            AllBenchmarks.self, CrashBenchmark.self, ResumeBenchmark.self, PostgresBenchmark.self, BackfillBenchmark.self,
            BackfillLoad.self, BackupBenchmark.self, HoldLock.self, RecoverOnce.self,
        ], defaultSubcommand: AllBenchmarks.self)
}

/// One recovery in a fresh process, as a job does it at start: prints the seconds.
struct RecoverOnce: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recover-once", shouldDisplay: false)
    @Option var path: String

    func run() throws {
        let result = try RecoveryBenchmark.fastPath(FilePath(path))
        print(result.seconds)
    }
}

/// The child the lock handover benchmark kills.
struct HoldLock: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hold-lock", shouldDisplay: false)
    @Option var kind: String
    @Option var path: String

    func run() throws {
        let lock = LockBenchmark.make(kind, FilePath(path))
        guard try lock.tryAcquire() else { throw ExitCode(4) }
        let line = Array("acquired\n".utf8)
        _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        while true { Thread.sleep(forTimeInterval: 3600) }
    }
}

/// Every figure, in one run.
struct AllBenchmarks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "all", abstract: "Run every benchmark (the default).")

    @Option(help: "Directory for the files (on the disk you want to measure).")
    var dir: String = FileManager.default.temporaryDirectory.path

    @Option(help: "Interleaved rounds of the latency comparison.")
    var rounds: Int = 15

    @Option(help: "Appends per round.")
    var appends: Int = 200

    @Option(help: "Rounds of the group-commit comparison (each: 1 appender, 8 async tasks, 8 threads).")
    var groupRounds: Int = 3

    @Option(help: "Lines in the recovery ledger.")
    var lines: Int = 1_000_000

    @Flag(help: "Only the fast-path recovery (for profiling).")
    var recoveryOnly = false

    @Flag(help: "Only the group-commit comparison.")
    var groupCommitOnly = false

    mutating func run() async throws {
        let root = FilePath(dir).appending("durable-benchmark-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(atPath: root.string, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root.string) }
        print("DurableIO benchmark — \(ProcessInfo.processInfo.activeProcessorCount) cores, files in \(root)")

        if recoveryOnly {
            let keyPath = root.appending("keys.done")
            RecoveryBenchmark.makeLedger(keyPath, field: "key", count: lines)
            for _ in 0..<5 { print(milliseconds(try RecoveryBenchmark.fastPath(keyPath).seconds)) }
            return
        }
        if groupCommitOnly {
            try await groupCommit(in: root)
            return
        }
        print("\n## Durable append latency (one line, fdatasync'd), median of \(rounds) interleaved rounds × \(appends)")
        let (raw, ledger, pairedRatio) = try AppendBenchmark.latency(in: root, rounds: rounds, perRound: appends)
        print("raw write+fdatasync:        \(microseconds(raw))")
        print("KeyLedger.insert (durable): \(microseconds(ledger))")
        print("ratio ledger / raw:         \(ratio(pairedRatio))   (median of per-round ratios; target ≤ 1.10×)")

        try await groupCommit(in: root)

        print("\n## Recovery of a \(lines.formatted())-line key ledger")
        let keyPath = root.appending("keys.done")
        RecoveryBenchmark.makeLedger(keyPath, field: "key", count: lines)
        let size = (try? FileManager.default.attributesOfItem(atPath: keyPath.string)[.size] as? Int) ?? 0
        print(String(format: "file: %.1f MB", Double(size) / 1e6))
        var fast: [Double] = []
        var count = 0
        for _ in 0..<5 {
            let r = try RecoveryBenchmark.fastPath(keyPath)
            fast.append(r.seconds)
            count = r.keys
        }
        precondition(count == lines, "recovered \(count) of \(lines) keys")
        print("KeyLedger.recover (fast path, \(ProcessInfo.processInfo.activeProcessorCount) cores), warm: \(milliseconds(fast.median))   (target < 250 ms)")
        let cold = (0..<5).compactMap { _ in RecoveryBenchmark.freshProcess(keyPath) }
        print("KeyLedger.recover, first in a fresh process: \(milliseconds(cold.median))   (median of \(cold.count))")
        let python = RecoveryBenchmark.python(keyPath)
        result(
            6, "recovery of the \(lines.formatted())-line ledger, first in a fresh process (median of \(cold.count))",
            milliseconds(cold.median), baseline: python.map { "seed's Python \(milliseconds($0)) (\(ratio($0 / cold.median)))" } ?? "–",
            goal: "< 120 ms", met: cold.median < 0.120)
        let generic = root.appending("clips.done")
        RecoveryBenchmark.makeLedger(generic, field: "clip", count: lines)
        print("Ledger<Codable>.recover (JSONDecoder per line, parallel): \(milliseconds(try RecoveryBenchmark.genericLedger(generic)))")
        print("Foundation JSONDecoder, one thread:          \(milliseconds(try RecoveryBenchmark.foundationDecoder(keyPath)))")
        print("Foundation JSONSerialization, one thread:    \(milliseconds(try RecoveryBenchmark.foundationSerialization(keyPath)))")
        if let python {
            print("Python json.loads per line into a set (seed): \(milliseconds(python))   fast path is \(ratio(python / fast.median)) faster")
        } else {
            print("Python json.loads: python3 not available")
        }
        print("\n## Locks: uncontended acquire + release (median of 5 rounds × 200)")
        for kind in ["file", "lockfile"] {
            let seconds = try LockBenchmark.uncontended(kind, in: root, rounds: 5, count: 200)
            print("\(kind == "file" ? "FileLock (flock)  " : "LockFile (O_EXCL) "): \(microseconds(seconds))")
        }
        print("\n## Locks: handover from a holder killed with SIGKILL (median of 5, polling every 1 ms)")
        for kind in ["file", "lockfile"] {
            let trials = try (0..<5).map { try LockBenchmark.handover(kind, in: root, poll: 0.001, trial: $0) }
            print("\(kind == "file" ? "FileLock (flock)  " : "LockFile (O_EXCL) "): \(milliseconds(trials.median))")
        }
        print(String(format: "\npeak resident memory: %.0f MiB", peakResidentMiB()))
    }

    /// One appender, 8 async tasks and 8 threads, per round, with how much one sync covered.
    func groupCommit(in root: FilePath) async throws {
        print("\n## Group commit: appends per second, \(groupRounds) rounds (target: 8 threads ≥ 5×, 8 async tasks ≥ 6× one appender, every round)")
        print("The limit is one sync per batch of 8: 8× one appender. Per sync: the appends one fdatasync covered.")
        var rows: [(one: AppendBenchmark.Throughput, tasks: AppendBenchmark.Throughput, threads: AppendBenchmark.Throughput)] = []
        for round in 0..<groupRounds {
            let one = try await AppendBenchmark.throughput(root.appending("g1-\(round)"), writers: 1, each: 400)
            let tasks = try await AppendBenchmark.throughput(root.appending("g8-\(round)"), writers: 8, each: 400)
            let threads = try AppendBenchmark.threadThroughput(root.appending("t8-\(round)"), writers: 8, each: 400)
            rows.append((one, tasks, threads))
            print(String(
                format: "round %d: 1 appender %6.0f /s · 8 async tasks %6.0f /s = %@ (%.1f per sync, %.0f%% of the limit) · 8 threads %6.0f /s = %@ (%.1f per sync, %.0f%% of the limit)",
                round + 1, one.perSecond, tasks.perSecond, ratio(tasks.perSecond / one.perSecond), tasks.perSync,
                tasks.perSecond / one.perSecond / 8 * 100, threads.perSecond, ratio(threads.perSecond / one.perSecond),
                threads.perSync, threads.perSecond / one.perSecond / 8 * 100))
        }
        let tasksMet = rows.allSatisfy { $0.tasks.perSecond / $0.one.perSecond >= 6 }
        let threadsMet = rows.allSatisfy { $0.threads.perSecond / $0.one.perSecond >= 5 }
        let tasksRatios = rows.map { ratio($0.tasks.perSecond / $0.one.perSecond) }.joined(separator: ", ")
        let threadsRatios = rows.map { ratio($0.threads.perSecond / $0.one.perSecond) }.joined(separator: ", ")
        let oneRates = rows.map { String(format: "%.0f/s", $0.one.perSecond) }.joined(separator: ", ")
        result(2, "8 async tasks / 1 appender, each of \(groupRounds) rounds", tasksRatios, baseline: oneRates, goal: "≥ 6× every round", met: tasksMet)
        result(2, "8 threads / 1 appender, each of \(groupRounds) rounds", threadsRatios, baseline: oneRates, goal: "≥ 5× every round", met: threadsMet)
    }
}
