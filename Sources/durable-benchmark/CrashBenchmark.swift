import ArgumentParser
import DurableIO
import DurableIOTesting
import Foundation
import Logging
import SystemPackage

/// How much the crash harness explores per operation, how long it takes, and how large a workload fits in a
/// minute (ledger appends, doubling until one run passes 60 s).
struct CrashBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-harness", abstract: "Crash states explored per operation, time, and the largest workload under a minute.")

    @Option(help: "Stop growing the workload once a run takes longer than this (seconds).")
    var budget: Double = 60

    static let quiet = RecoveryOptions(logger: Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() }))

    func run() throws {
        let harness = CrashHarness(pageSize: 16, maxStatesPerCrashPoint: 64, seed: 42)
        print("## Crash harness (page size 16 B, ≤ 64 states per crash point, 3 recovery crashes per state, seed 42)")
        print("operation                          calls  crash points  states  violations  time")
        let atomic = harness.explore(
            setUp: { fs in try fs.createDirectory("/d"); try AtomicFile.write("old", to: "/d/f", fileSystem: fs) },
            workload: { fs, run in try AtomicFile.write(String(repeating: "n", count: 100), to: "/d/f", fileSystem: fs); run.acknowledge("x") },
            recover: { fs in try AtomicFile.removeLeftovers(beside: "/d/f", fileSystem: fs) },
            verify: { _, _ in })
        row("AtomicFile.write (100 B)", atomic)
        row("KeyLedger: open + 5 inserts", try ledger(appends: 5, harness: harness))
        let finalize = harness.explore(
            setUp: { fs in
                try fs.createDirectory("/d")
                try AtomicFile.write(#"{"key":"a"}"# + "\n", to: "/d/o", fileSystem: fs)
                let s = try StagingFile.open(at: "/d/s", options: Self.quiet, fileSystem: fs)
                try s.append(KeyedRow(key: "b", json: Array("{}".utf8)))
                try s.close()
            },
            workload: { fs, _ in try Finalizer(output: "/d/o", staging: "/d/s", options: Self.quiet, fileSystem: fs).finalize(ledger: ["a", "b"]) },
            recover: { fs in try AtomicFile.removeLeftovers(beside: "/d/o", fileSystem: fs) },
            verify: { _, _ in })
        row("Finalizer.finalize (2 rows)", finalize)
        let lock = harness.explore(
            setUp: { fs in try fs.createDirectory("/d") },
            workload: { fs, _ in _ = try LockFile(at: "/d/l", fileSystem: fs).tryAcquire() },
            recover: { _ in },
            verify: { fs, _ in _ = try LockFile(at: "/d/l", fileSystem: fs).tryAcquire() })
        row("LockFile.tryAcquire", lock)

        print("\n## Largest ledger workload under \(Int(budget)) s")
        var appends = 5
        var last: (Int, CrashReport)?
        while true {
            let report = try ledger(appends: appends, harness: harness)
            row("KeyLedger: \(appends) inserts", report)
            if report.seconds > budget { break }
            last = (appends, report)
            if report.seconds * 4 > budget * 1.5 { break }  // doubling costs about 4× at this size: stop before far over
            appends *= 2
        }
        if let (n, report) = last {
            print("largest under \(Int(budget)) s: \(n) durable inserts, \(report.statesExplored) states in \(String(format: "%.1f", report.seconds)) s")
        }
    }

    func ledger(appends: Int, harness: CrashHarness) throws -> CrashReport {
        harness.explore(
            setUp: { fs in try fs.createDirectory("/d") },
            workload: { fs, run in
                let keys = try KeyLedger.open(at: "/d/k", options: Self.quiet, fileSystem: fs)
                for i in 0..<appends {
                    try keys.insert(RecordKey("k\(i)"))
                    run.acknowledge("k\(i)")
                }
                try keys.close()
            },
            recover: { fs in try KeyLedger.open(at: "/d/k", options: Self.quiet, fileSystem: fs).close() },
            verify: { fs, run in
                let keys = try KeyLedger.recover(at: "/d/k", options: Self.quiet, fileSystem: fs).keys
                for key in run.acknowledged where !keys.contains(RecordKey(key)) { throw CrashHarness.Broken("\(key) lost") }
            })
    }

    func row(_ name: String, _ r: CrashReport) {
        print(
            name.padding(toLength: 34, withPad: " ", startingAt: 0)
                + String(format: "%6d  %12d  %6d  %10d  %8.1f ms", r.operations, r.crashPoints, r.statesExplored, r.violations.count, r.seconds * 1000))
    }
}
