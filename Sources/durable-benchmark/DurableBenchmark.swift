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

    @Option(help: "Lines in the recovery ledger.")
    var lines: Int = 1_000_000

    @Flag(help: "Only the fast-path recovery (for profiling).")
    var recoveryOnly = false

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
        print("\n## Durable append latency (one line, fdatasync'd), median of \(rounds) interleaved rounds × \(appends)")
        let (raw, ledger, pairedRatio) = try AppendBenchmark.latency(in: root, rounds: rounds, perRound: appends)
        print("raw write+fdatasync:        \(microseconds(raw))")
        print("KeyLedger.insert (durable): \(microseconds(ledger))")
        print("ratio ledger / raw:         \(ratio(pairedRatio))   (median of per-round ratios; target ≤ 1.10×)")

        print("\n## Group commit: appends per second")
        var one: [Double] = []
        var eight: [Double] = []
        var eightThreads: [Double] = []
        for round in 0..<3 {
            one.append(try await AppendBenchmark.throughput(root.appending("g1-\(round)"), writers: 1, each: 400))
            eight.append(try await AppendBenchmark.throughput(root.appending("g8-\(round)"), writers: 8, each: 400))
            eightThreads.append(try AppendBenchmark.threadThroughput(root.appending("t8-\(round)"), writers: 8, each: 400))
        }
        print(String(format: "1 appender:            %8.0f /s", one.median))
        print(String(format: "8 async appenders:     %8.0f /s   %@ of one (target ≥ 5×)", eight.median, ratio(eight.median / one.median)))
        print(String(format: "8 thread appenders:    %8.0f /s   %@ of one", eightThreads.median, ratio(eightThreads.median / one.median)))

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
        let generic = root.appending("clips.done")
        RecoveryBenchmark.makeLedger(generic, field: "clip", count: lines)
        print("Ledger<Codable>.recover (JSONDecoder per line, parallel): \(milliseconds(try RecoveryBenchmark.genericLedger(generic)))")
        print("Foundation JSONDecoder, one thread:          \(milliseconds(try RecoveryBenchmark.foundationDecoder(keyPath)))")
        print("Foundation JSONSerialization, one thread:    \(milliseconds(try RecoveryBenchmark.foundationSerialization(keyPath)))")
        if let python = RecoveryBenchmark.python(keyPath) {
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
}
