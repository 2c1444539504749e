import DurableIO
import DurableIOTesting
import Logging
import SystemPackage
import Testing

let quiet = Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() })
let quietRecovery = RecoveryOptions(logger: quiet)

func text(_ fs: SimulatedFileSystem, _ path: FilePath) -> String? {
    fs.contents(of: path).map { String(decoding: $0, as: UTF8.self) }
}

/// The guarantees of DurableIO's operations, checked at every crash point of a simulated power cut.
@Suite("Crash harness", .ownThreads, .inATestSlot)
struct CrashHarnessTests {
    // MARK: Atomic replace

    let target: FilePath = "/d/settings"

    func atomicReplace(_ harness: CrashHarness, _ write: @escaping (SimulatedFileSystem) throws -> Void) -> CrashReport {
        harness.explore(
            setUp: { fs in
                try fs.createDirectory("/d")
                try AtomicFile.write("old contents", to: target, fileSystem: fs)
            },
            workload: { fs, run in
                try write(fs)
                run.acknowledge("new")
            },
            recover: { fs in try AtomicFile.removeLeftovers(beside: target, fileSystem: fs) },
            verify: { fs, run in
                let now = text(fs, target)
                if run.acknowledged.contains("new") {
                    guard now == "new contents" else { throw CrashHarness.Broken("write returned, but the file holds \(now ?? "nothing")") }
                } else {
                    guard now == "old contents" || now == "new contents" else {
                        throw CrashHarness.Broken("the file holds neither the old nor the new content: \(now ?? "nothing")")
                    }
                }
                let leftovers = fs.names(in: "/d").filter { $0.contains(".durable-tmp-") }
                guard leftovers.isEmpty else { throw CrashHarness.Broken("temporary files survived cleanup: \(leftovers)") }
            })
    }

    @Test func atomicReplaceHoldsAtEveryCrashPoint() {
        let report = atomicReplace(CrashHarness(pageSize: 4)) { fs in
            try AtomicFile.write("new contents", to: target, fileSystem: fs)
        }
        #expect(report.violations.isEmpty, "\(report)")
        #expect(report.crashPoints > 8 && report.statesExplored > report.crashPoints)
    }

    @Test func withoutTheDirectoryFsyncTheHarnessFindsTheLostRename() {
        let report = atomicReplace(CrashHarness(pageSize: 4, mutations: [.ignoreDirectoryFsync])) { fs in
            try AtomicFile.write("new contents", to: target, fileSystem: fs)
        }
        #expect(!report.violations.isEmpty)
        #expect(report.violations.first?.failure == "write returned, but the file holds old contents")
    }

    /// Foundation's `Data.write(to:options: .atomic)`: temp file, fsync, rename — and no directory fsync.
    @Test func foundationsAtomicWritePatternLosesTheRename() {
        let report = atomicReplace(CrashHarness(pageSize: 4)) { fs in
            let temp: FilePath = "/d/.settings.foundation-tmp"
            let fd = try fs.open(temp, .writeOnly, options: [.create, .truncate], permissions: .init(rawValue: 0o644))
            try fs.writeAll(fd, Array("new contents".utf8))
            try fs.fsync(fd)
            try fs.close(fd)
            try fs.rename(temp, to: target)
        }
        let lost = report.violations.first { $0.failure == "write returned, but the file holds old contents" }
        #expect(lost != nil, "\(report)")
        #expect(lost?.lost.contains("/d: ") == true && lost?.lost.contains("name changes reached disk") == true, "\(report)")
    }

    // MARK: Ledger

    let ledger: FilePath = "/d/keys.done"

    func ledgerAppends(_ harness: CrashHarness) -> CrashReport {
        harness.explore(
            setUp: { fs in
                try fs.createDirectory("/d")
                // An earlier crash left a torn tail.
                let fd = try fs.open(ledger, .writeOnly, options: [.create], permissions: .init(rawValue: 0o644))
                try fs.writeAll(fd, Array(#"{"key":"k0"}"#.utf8 + [0x0A] + #"{"key":"k9"#.utf8))
                try fs.close(fd)
            },
            workload: { fs, run in
                let keys = try KeyLedger.open(at: ledger, options: quietRecovery, fileSystem: fs)
                for i in 1...3 {
                    try keys.insert(RecordKey("k\(i)"))
                    run.acknowledge("k\(i)")
                }
                try keys.insert(contentsOf: ["k4", "k5"])
                run.acknowledge("k4")
                run.acknowledge("k5")
                try keys.close()
            },
            recover: { fs in try KeyLedger.open(at: ledger, options: quietRecovery, fileSystem: fs).close() },
            verify: { fs, run in
                let (keys, report) = try KeyLedger.recover(at: ledger, options: quietRecovery, fileSystem: fs)
                for key in run.acknowledged + ["k0"] where !keys.contains(RecordKey(key)) {
                    throw CrashHarness.Broken("\(key) was acknowledged but is not in the ledger after recovery")
                }
                guard report.malformedLineCount == 0, report.tornTail == nil else {
                    throw CrashHarness.Broken("after recovery the ledger still has damage: \(report)")
                }
                let unknown = keys.filter { !["k0", "k1", "k2", "k3", "k4", "k5"].contains($0.string ?? "") }
                guard unknown.isEmpty else { throw CrashHarness.Broken("recovered keys nobody wrote: \(unknown)") }
            })
    }

    @Test func everyAcknowledgedAppendSurvivesAndEveryRecoveredLineIsComplete() {
        let report = ledgerAppends(CrashHarness(pageSize: 8))
        #expect(report.violations.isEmpty, "\(report)")
    }

    @Test func appendingAfterATornTailWithoutTruncatingLosesAnAcknowledgedKey() {
        let report = ledgerAppends(CrashHarness(pageSize: 8, mutations: [.ignoreTruncate], maxViolations: 1_000))
        #expect(report.violations.contains { $0.failure.contains("was acknowledged but is not in the ledger") }, "\(report)")
    }

    @Test func anIgnoredFsyncErrorLosesAnAcknowledgedKey() {
        let report = ledgerAppends(CrashHarness(pageSize: 8, mutations: [.fsyncFailsSilently]))
        #expect(report.violations.contains { $0.failure.contains("was acknowledged but is not in the ledger") }, "\(report)")
    }

    // MARK: Finalize

    func finalize(_ harness: CrashHarness) -> CrashReport {
        let output: FilePath = "/d/out.jsonl"
        let staging: FilePath = "/d/out.jsonl.rows.jsonl"
        return harness.explore(
            setUp: { fs in
                try fs.createDirectory("/d")
                try AtomicFile.write(#"{"key":"a","v":1}"# + "\n" + #"{"key":"b","v":2}"# + "\n", to: output, fileSystem: fs)
                let rows = try StagingFile.open(at: staging, options: quietRecovery, fileSystem: fs)
                try rows.append(KeyedRow(key: "c", json: Array(#"{"v":3}"#.utf8)))
                try rows.close()
            },
            workload: { fs, run in
                try Finalizer(output: output, staging: staging, options: quietRecovery, fileSystem: fs)
                    .finalize(ledger: ["a", "b", "c"], recoveredRows: 3, completedThisRun: 0)
                run.acknowledge("finalized")
            },
            recover: { fs in try AtomicFile.removeLeftovers(beside: output, fileSystem: fs) },
            verify: { fs, run in
                let present = try KeyCensus.scan(rowsAt: output, options: quietRecovery, fileSystem: fs).keys
                    .union(try KeyCensus.scan(rowsAt: staging, options: quietRecovery, fileSystem: fs).keys)
                let missing = ["a", "b", "c"].filter { !present.contains(RecordKey($0)) }
                guard missing.isEmpty else {
                    throw CrashHarness.Broken("ledger keys missing from output ∪ staging: \(missing)")
                }
                if run.acknowledged.contains("finalized"), fs.names(in: "/d").contains("out.jsonl.rows.jsonl") {
                    throw CrashHarness.Broken("finalize returned, but staging is still there")
                }
            })
    }

    @Test func finalizeNeverLosesALedgerKeyAtAnyCrashPoint() {
        let report = finalize(CrashHarness(pageSize: 16))
        #expect(report.violations.isEmpty, "\(report)")
    }

    @Test func unlinkingStagingBeforeTheOutputIsDurableIsCaught() {
        let report = finalize(CrashHarness(pageSize: 16, mutations: [.ignoreFileFsync(pathContaining: ".out.jsonl.durable-tmp-")]))
        #expect(report.violations.contains { $0.failure.contains("ledger keys missing from output ∪ staging") }, "\(report)")
    }

    // MARK: Lock file

    @Test func aLockFileFromBeforeAPowerCutNeverBlocksForever() {
        let path: FilePath = "/d/run.lock"
        let report = CrashHarness(pageSize: 16).explore(
            setUp: { fs in try fs.createDirectory("/d") },
            workload: { fs, run in
                let lock = LockFile(at: path, fileSystem: fs)
                if try lock.tryAcquire() { run.acknowledge("held") }
            },
            recover: { _ in },
            verify: { fs, _ in
                let lock = LockFile(at: path, fileSystem: fs)
                guard try lock.tryAcquire() else {
                    throw CrashHarness.Broken("after the reboot the lock is still held by \(lock.describeHolder())")
                }
                try lock.release()
            })
        #expect(report.violations.isEmpty, "\(report)")
    }
}
