import DurableIO
import Foundation
import Logging
import SystemPackage

extension CheckpointedRun {
    /// Where a run stands, read without changing anything: what `durable-extract status` prints.
    ///
    /// ```swift
    /// let status = try CheckpointedRun(output: "features.jsonl").status()
    /// print(status)   // "not running · 41,200 done (41,000 in the output, 200 staged) · 3 failed"
    /// ```
    public struct Status: Sendable, Encodable, CustomStringConvertible {
        /// Keys the ledger lists.
        public var done: Int
        /// Rows in the final output.
        public var outputRows: Int
        /// Rows in staging (durable, not yet in the output).
        public var staged: Int
        /// Distinct failed items not done since (retried by the next run).
        public var failed: Int
        /// Inputs not done, when the inputs were given.
        public var pending: Int?
        /// The DurableIO process running the extraction (its owner record), or `nil` when none is.
        public var holder: LockOwner?
        /// Who holds the output's lock, whatever it is — a run, or a process that is not DurableIO (then
        /// ``holder`` is `nil` and the record it left, if any, is marked stale).
        public var lockHolder: FileLock.Holder?
        /// The last heartbeat recorded.
        public var lastHeartbeat: HeartbeatRecord?
        /// The disk still needed to finish (needs the inputs, to know what is pending; `nil` before any row).
        public var spaceNeeded: SpaceEstimate?
        /// Malformed lines and torn bytes found reading the ledger and staging (repaired by the next run).
        public var damagedLines: Int
        /// Keys the ledger lists whose rows are in neither the output nor staging: a loss (``shortfall`` says it).
        public var missing: Int
        /// The loss, in the words `verify` uses (``CheckpointedRun/verify()`` throws the same error), with the
        /// repair command; `nil` when every key the ledger lists has its row.
        public var shortfall: DurableIOError?

        private enum CodingKeys: String, CodingKey {
            case done, outputRows, staged, failed, pending, holder, lockHolder, lastHeartbeat, damagedLines, missing
        }

        /// `not running`, and, when the last run did not finish — rows still in staging, or a last heartbeat short
        /// of its total — that its process is gone (the heartbeat's pid no longer exists: killed, crashed or
        /// stopped), when it last beat, and that rerunning the same command resumes.
        var notRunning: String {
            let beat = lastHeartbeat
            let unfinished = staged > 0 || beat.map { b in b.progress.total.map { b.progress.done < $0 } ?? false } ?? false
            guard unfinished else { return "not running" }
            let resume = "rerun the same `durable-extract run` command to resume (everything acknowledged is durable)"
            guard let beat, !ProcessLiveness.isAlive(beat.pid) else {
                return "not running: the last run did not finish (\(staged.formatted) rows staged, not yet in the output: it was killed, crashed or stopped); \(resume)"
            }
            let age = (try? Date(beat.beatAt, strategy: .iso8601)).map { " (\(Self.age(since: $0)) ago)" } ?? ""
            return "not running: the process that ran it (pid \(beat.pid)) no longer exists — killed, crashed or stopped before it finished; its last heartbeat was at \(beat.beatAt)\(age); \(resume)"
        }

        /// `42 s`, `3 min`, `5 h`, `2 days`.
        static func age(since date: Date) -> String {
            let seconds = max(0, Int(Date().timeIntervalSince(date)))
            switch seconds {
            case ..<120: return "\(seconds) s"
            case ..<7200: return "\(seconds / 60) min"
            case ..<172_800: return "\(seconds / 3600) h"
            default: return "\(seconds / 86_400) days"
            }
        }

        public var description: String {
            var parts: [String]
            if let holder {
                parts = ["running: \(holder) — figures may move"]
            } else if let lockHolder {
                parts = ["locked by \(lockHolder) — figures may move"]
            } else {
                parts = [notRunning]
            }
            parts.append("\(done.formatted) done (\(outputRows.formatted) rows in the output, \(staged.formatted) staged)")
            parts.append("\(failed.formatted) failed")
            if let pending { parts.append("\(pending.formatted) pending") }
            if let spaceNeeded, (pending ?? 0) > 0 { parts.append("disk: \(spaceNeeded)") }
            if damagedLines > 0 { parts.append("\(damagedLines.formatted) damaged lines (recovered by the next run)") }
            if let beat = lastHeartbeat { parts.append("last heartbeat \(beat.beatAt): \(beat.progress)") }
            if missing > 0 { parts.append("\(missing.formatted) keys the ledger lists have no row: see the error below") }
            return parts.joined(separator: "\n")
        }
    }

    /// Reads the run's state without taking its lock (a run in progress is named, and its figures may move).
    /// Creates nothing: an output with no state at all is refused before anything is opened.
    ///
    /// - Parameter inputs: the inputs, to count what is pending; `nil` when unknown.
    /// - Returns: the state; a loss (keys the ledger lists whose rows are missing) is in ``Status/shortfall``.
    /// - Throws: ``RunError/Code/nothingHasRun`` when nothing has run for this output.
    public func status(inputs: [RecordKey]? = nil) throws -> Status {
        try requireState()
        let quiet = RecoveryOptions(logger: .init(label: "DurableIO.status", factory: { _ in SwiftLogNoOpLogHandler() }))
        let ledger = try KeyLedger.recover(at: ledgerPath, options: quiet, fileSystem: fileSystem)
        let staging = try KeyCensus.scan(
            rowsAt: stagingPath, options: quiet, sharingKeysWith: ledger.keys, fileSystem: fileSystem)
        let output = try KeyCensus.scan(
            rowsAt: output, format: format, options: quiet, sharingKeysWith: ledger.keys, fileSystem: fileSystem)
        var failedKeys = RecordKeySet()
        if try fileSystem.exists(errorsPath) {
            for failure in try Ledger<FailedAttempt>.recover(at: errorsPath, options: quiet, fileSystem: fileSystem).entries
            where !ledger.keys.contains(failure.key) {
                failedKeys.insert(failure.key)
            }
        }
        var pending: Int?
        if let inputs { pending = RecordKeySet.gathering(inputs).set.countNot(in: ledger.keys) }
        var shortfall: DurableIOError?
        do { try RowAccounting.checkRestart(ledger: ledger.keys, output: output, staging: staging, hint: repairHint) } catch {
            shortfall = error
        }
        let lockHolder = FileLock.exclusiveHolder(of: lockPath, fileSystem: fileSystem)
        var status = Status(
            done: ledger.keys.count, outputRows: output.rowCount, staged: staging.rowCount, failed: failedKeys.count,
            pending: pending, holder: lockHolder?.currentRecord, lockHolder: lockHolder,
            lastHeartbeat: Heartbeat.lastBeat(at: heartbeatPath),
            damagedLines: ledger.report.malformedLineCount + (ledger.report.tornTail == nil ? 0 : 1)
                + staging.report.malformedLineCount + (staging.report.tornTail == nil ? 0 : 1),
            missing: shortfall?.accounting?.missingCount ?? 0, shortfall: shortfall)
        status.spaceNeeded = pending.flatMap { spaceEstimate(rowsSoFar: output.rowCount + staging.rowCount, pendingItems: $0) }
        return status
    }

    /// Whether anything has run for this output: any of its state files, or the output itself, exists.
    public var hasState: Bool {
        [output, ledgerPath, stagingPath, errorsPath, lockPath].contains { (try? fileSystem.exists($0)) ?? true }
    }

    /// Refuses an output with no state, before anything is opened or created (a read-only command on a typo).
    func requireState() throws(RunError) {
        guard hasState else {
            throw RunError(
                .nothingHasRun, message: "nothing has run for this output: \(output)",
                hint: "Check the path given to --output: its state files (\(ledgerPath.lastComponent.map { "\($0)" } ?? ".done"), …) sit beside it. Nothing was created.")
        }
    }

    /// The restart consistency check alone: every key the ledger lists must have its row in the output or in
    /// staging. Takes the lock shared, so it never reads a run's files half-way through a finalize.
    ///
    /// - Returns: the reconciliation, when nothing is missing.
    /// - Throws: `DurableIOError.Code.accountingMismatch` with the count, sample keys and the repair command;
    ///   `DurableIOError.Code.lockHeld` naming the running process; ``RunError/Code/nothingHasRun`` (and
    ///   nothing created) when nothing has run for this output.
    @discardableResult
    public func verify() throws -> Reconciliation {
        try requireState()
        return try withSharedLock {
            let ledger = try KeyLedger.recover(at: ledgerPath, options: options.recovery, fileSystem: fileSystem)
            let staging = try KeyCensus.scan(
                rowsAt: stagingPath, options: options.recovery, sharingKeysWith: ledger.keys, fileSystem: fileSystem)
            let output = try KeyCensus.scan(
                rowsAt: output, format: format, options: options.recovery, sharingKeysWith: ledger.keys,
                fileSystem: fileSystem)
            return try RowAccounting.checkRestart(ledger: ledger.keys, output: output, staging: staging, hint: repairHint)
        }
    }

    /// What ``repair(dryRun:)`` dropped (or would drop).
    public struct RepairReport: Sendable, Encodable {
        /// Keys the ledger listed.
        public var ledgerKeys: Int
        /// Keys dropped because their rows are in neither output nor staging, in byte order.
        public var dropped: [RecordKey]
        /// Whether the ledger was left unchanged.
        public var dryRun: Bool
    }

    /// The operator's explicit recovery from a loss: rewrites the ledger atomically without the keys whose rows
    /// are missing, so the next run extracts them again. Never done automatically.
    ///
    /// - Parameter dryRun: only report what would be dropped.
    /// - Throws: `DurableIOError.Code.lockHeld` while a run holds the lock; ``RunError/Code/nothingHasRun``
    ///   (and nothing created) when nothing has run for this output.
    public func repair(dryRun: Bool) throws -> RepairReport {
        try requireState()
        let lock = FileLock(at: lockPath, fileSystem: fileSystem)
        guard try lock.tryAcquire() else { throw lock.heldError() }
        defer { try? lock.release() }
        let ledger = try KeyLedger.recover(at: ledgerPath, options: options.recovery, fileSystem: fileSystem)
        var present = try KeyCensus.scan(rowsAt: output, format: format, options: options.recovery, fileSystem: fileSystem).keys
        present.formUnion(try KeyCensus.scan(rowsAt: stagingPath, options: options.recovery, fileSystem: fileSystem).keys)
        let keep = ledger.keys.intersection(present)
        let dropped = ledger.keys.subtracting(keep).sorted()
        if !dryRun && !dropped.isEmpty { try KeyLedger.replace(at: ledgerPath, with: keep, fileSystem: fileSystem) }
        return RepairReport(ledgerKeys: ledger.keys.count, dropped: dropped, dryRun: dryRun)
    }

    private func withSharedLock<R>(_ body: () throws -> R) throws -> R {
        let lock = FileLock(at: lockPath, mode: .shared, fileSystem: fileSystem)
        guard try lock.tryAcquire() else { throw FileLock(at: lockPath, fileSystem: fileSystem).heldError() }
        defer { try? lock.release() }
        return try body()
    }
}
