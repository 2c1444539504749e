import DurableIO
import Foundation
import Synchronization

/// Proves an operation's guarantee at every crash point: runs a workload on a ``SimulatedFileSystem``, and for
/// every prefix of its system calls enumerates the on-disk states a power cut there could leave, reboots into
/// each, runs the recovery, and checks the guarantee. Crashes during recovery are crash points too.
///
/// ```swift
/// let report = CrashHarness().explore(
///     setUp: { fs in try fs.createDirectory("/d"); try AtomicFile.write("old", to: "/d/f", fileSystem: fs) },
///     workload: { fs, run in try AtomicFile.write("new", to: "/d/f", fileSystem: fs); run.acknowledge("new") },
///     recover: { fs in try AtomicFile.removeLeftovers(beside: "/d/f", fileSystem: fs) },
///     verify: { fs, run in
///         let text = String(decoding: fs.contents(of: "/d/f") ?? [], as: UTF8.self)
///         guard text == "new" || (text == "old" && !run.acknowledged.contains("new")) else {
///             throw CrashHarness.Broken("the file holds \(text)")
///         }
///     })
/// #expect(report.violations.isEmpty, "\(report)")
/// ```
public struct CrashHarness: Sendable {
    /// Page size of the simulated disk (small values exercise torn lines).
    public var pageSize: Int
    /// States checked per crash point at most (sampled beyond it, with ``seed``).
    public var maxStatesPerCrashPoint: Int
    /// The seed of the sampling: printed in the report, so a run can be replayed.
    public var seed: UInt64
    /// Guarantees switched off, to prove the harness notices.
    public var mutations: Set<SimulatedFileSystem.Mutation>
    /// Also crash the recovery (at up to ``recoveryCrashesPerState`` of its calls, drawn with the seed; two
    /// states each) and recover again.
    public var crashDuringRecovery: Bool
    /// How many of the recovery's calls to crash at, per state.
    public var recoveryCrashesPerState: Int
    /// Stop after this many violations.
    public var maxViolations: Int

    /// A harness.
    public init(
        pageSize: Int = 4096, maxStatesPerCrashPoint: Int = 64, seed: UInt64 = .random(in: 0 ... .max),
        mutations: Set<SimulatedFileSystem.Mutation> = [], crashDuringRecovery: Bool = true,
        recoveryCrashesPerState: Int = 3, maxViolations: Int = 10
    ) {
        self.recoveryCrashesPerState = recoveryCrashesPerState
        self.pageSize = pageSize
        self.maxStatesPerCrashPoint = maxStatesPerCrashPoint
        self.seed = seed
        self.mutations = mutations
        self.crashDuringRecovery = crashDuringRecovery
        self.maxViolations = maxViolations
    }

    /// The error a `verify` closure throws to report a broken guarantee.
    public struct Broken: Error, CustomStringConvertible {
        /// Which guarantee broke, and how.
        public var description: String
        /// Creates the error.
        public init(_ description: String) { self.description = description }
    }

    /// Explores every crash point of `workload`.
    ///
    /// - Parameters:
    ///   - setUp: the durable state before the workload (everything it does is synced).
    ///   - workload: the operation; it records what was acknowledged (what returned) in the ``CrashRun``.
    ///   - recover: what a restarted program does first (the library's own recovery).
    ///   - verify: checks the guarantee after recovery; throws (e.g. ``Broken``) when it is broken.
    public func explore(
        setUp: (SimulatedFileSystem) throws -> Void = { _ in },
        workload: (SimulatedFileSystem, CrashRun) throws -> Void,
        recover: (SimulatedFileSystem) throws -> Void,
        verify: (SimulatedFileSystem, CrashRun) throws -> Void
    ) -> CrashReport {
        let start = Date()
        var report = CrashReport(seed: seed)
        var rng = SplitMix(state: seed)
        func fresh() -> SimulatedFileSystem {
            let fs = SimulatedFileSystem(pageSize: pageSize, mutations: mutations)
            do { try setUp(fs) } catch { report.setUpError = "\(error)" }
            fs.syncEverything()
            return fs
        }
        let dry = fresh()
        let before = dry.operationCount
        try? workload(dry, CrashRun())
        let total = dry.operationCount - before
        report.operations = total

        for point in 0...total {
            let fs = fresh()
            fs.freeze(afterOperations: point)
            let run = CrashRun()
            do {
                try workload(fs, run)
                run.completed = true
            } catch {}
            let trace = Array(fs.trace.suffix(point))
            let (states, _, sampled) = fs.crashStates(limit: maxStatesPerCrashPoint, seed: rng.next())
            if sampled { report.sampledCrashPoints += 1 }
            report.crashPoints += 1
            for crash in states {
                report.statesExplored += 1
                check(fs.rebooted(into: crash), crash.description, point: point, trace: trace, run: run, recover: recover, verify: verify, report: &report, rng: &rng)
                if report.violations.count >= maxViolations { break }
            }
            if report.violations.count >= maxViolations { break }
        }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    private func check(
        _ disk: SimulatedFileSystem, _ lost: String, point: Int, trace: [String], run: CrashRun,
        recover: (SimulatedFileSystem) throws -> Void, verify: (SimulatedFileSystem, CrashRun) throws -> Void,
        report: inout CrashReport, rng: inout SplitMix
    ) {
        func violation(_ failure: String, recoveryCrash: String?) {
            report.violations.append(
                CrashViolation(crashPoint: point, operations: trace, lost: lost, recoveryCrash: recoveryCrash, failure: failure))
        }
        do {
            let attempt = disk.copy()
            try recover(attempt)
            try verify(attempt, run)
        } catch {
            violation("\(error)", recoveryCrash: nil)
            return
        }
        guard crashDuringRecovery else { return }
        // Crash the recovery itself at each of its calls, then recover again: recovery must be idempotent.
        let probe = disk.copy()
        let base = probe.operationCount
        try? recover(probe)
        let recoveryOps = probe.operationCount - base
        var cuts = Array(0..<recoveryOps)
        cuts.shuffle(using: &rng)
        for cut in cuts.prefix(recoveryCrashesPerState) {
            let attempt = disk.copy()
            attempt.freeze(afterOperations: cut)
            try? recover(attempt)
            for second in attempt.crashStates(limit: 2, seed: rng.next()).states {
                report.statesExplored += 1
                let again = attempt.rebooted(into: second)
                do {
                    try recover(again)
                    try verify(again, run)
                } catch {
                    violation("\(error)", recoveryCrash: "recovery crashed after \(cut) of its \(recoveryOps) calls, losing: \(second.description)")
                    return
                }
            }
        }
    }
}

/// What one run of the workload acknowledged before the crash: what returned to its caller.
///
/// ```swift
/// workload: { fs, run in try ledger(fs).insert("k1"); run.acknowledge("k1") }
/// ```
public final class CrashRun: @unchecked Sendable {
    private let lock = Mutex<[String]>([])
    /// Whether the whole workload returned.
    public internal(set) var completed = false

    /// Records that an operation returned (so its guarantee applies).
    public func acknowledge(_ what: String) { lock.withLock { $0.append(what) } }

    /// What returned, in order.
    public var acknowledged: [String] { lock.withLock { $0 } }
}

/// What a harness run explored and found.
///
/// ```swift
/// let report = harness.explore(workload: …, recover: …, verify: …)
/// print(report)   // "41 crash points over 40 calls, 294 states …: no violation"
/// ```
public struct CrashReport: Sendable, CustomStringConvertible {
    /// The sampling seed (replay with it).
    public var seed: UInt64
    /// System calls of the workload.
    public var operations = 0
    /// Crash points explored (operations + 1).
    public var crashPoints = 0
    /// Crash points whose states were sampled rather than all enumerated.
    public var sampledCrashPoints = 0
    /// On-disk states checked, crashes during recovery included.
    public var statesExplored = 0
    /// Broken guarantees.
    public var violations: [CrashViolation] = []
    /// Wall time.
    public var seconds = 0.0
    /// Set when the set-up itself failed.
    public var setUpError: String?

    init(seed: UInt64) { self.seed = seed }

    public var description: String {
        var text =
            "\(crashPoints) crash points over \(operations) calls, \(statesExplored) states (\(sampledCrashPoints) points sampled, seed \(seed)) in \(String(format: "%.2f", seconds)) s: "
        text += violations.isEmpty ? "no violation" : "\(violations.count) violation(s)\n\n" + violations[0].description
        if let setUpError { text += "\nset-up failed: \(setUpError)" }
        return text
    }
}

/// A broken guarantee, told as a story: the calls up to the crash, what the power cut lost, what recovery saw.
///
/// ```swift
/// for violation in report.violations { print(violation) }   // "Power cut after call 7: …"
/// ```
public struct CrashViolation: Sendable, CustomStringConvertible {
    /// After how many calls the power was cut.
    public var crashPoint: Int
    /// The calls made up to the crash.
    public var operations: [String]
    /// What the power cut lost.
    public var lost: String
    /// Where the recovery itself crashed, if it did.
    public var recoveryCrash: String?
    /// The broken guarantee.
    public var failure: String

    public var description: String {
        var lines = ["Power cut after call \(crashPoint):"]
        for (i, op) in operations.enumerated() { lines.append("  \(i + 1). \(op)") }
        lines.append("Lost: \(lost)")
        if let recoveryCrash { lines.append("Then: \(recoveryCrash)") }
        lines.append("After recovery: \(failure)")
        return lines.joined(separator: "\n")
    }
}
