import DurableIO
import Foundation
import Synchronization
import SystemPackage

extension CheckpointedRun {
    /// Runs the extraction of every input not yet done, then finalizes and verifies the output.
    ///
    /// - Parameters:
    ///   - inputs: the keys of the items (duplicates are ignored).
    ///   - stop: a graceful stop (a signal): no new item starts, items in flight finish — or are cancelled when
    ///     the stop is forced — and the run throws ``RunError/Code/interrupted`` with the counts, everything
    ///     acknowledged durable. The output is not finalized; the next run resumes and finalizes.
    ///   - extract: makes one item's row, the bytes of a JSON object; throwing records a failure.
    /// - Returns: what the run did, verified.
    /// - Throws: `DurableIOError` — `lockHeld`, `accountingMismatch` (fail closed), `stalled`,
    ///   `memoryLimitExceeded` — or ``RunError`` when the failure budget is exceeded or the run was interrupted.
    public func run(
        inputs: [RecordKey], stop: StopRequest? = nil, extract: @escaping @Sendable (RecordKey) async throws -> [UInt8]
    ) async throws -> RunReport {
        let lock = FileLock(at: lockPath, fileSystem: fileSystem)
        try await lock.acquire(timeout: options.lockTimeout)
        do {
            let report = try await runLocked(inputs: inputs, stop: stop ?? StopRequest(), extract: extract)
            try lock.release()
            return report
        } catch {
            try? lock.release()
            throw error
        }
    }

    private func runLocked(
        inputs: [RecordKey], stop: StopRequest, extract: @escaping @Sendable (RecordKey) async throws -> [UInt8]
    ) async throws -> RunReport {
        // Everything the items needed (the pending list, the recovered staging census, the open files) is let go
        // when this returns: the finalize's tables are the peak, and they do not sit on top of those.
        let session = try await extractPending(inputs: inputs, stop: stop, extract: extract)
        switch options.expectedRows {
        case .atLeast(let minimum): try OutputValidation.requireAtLeast(minimum, rows: session.ledgerKeys.count)
        case .fractionOfInputs(let fraction): try OutputValidation.requireFraction(fraction, of: session.inputs, rows: session.ledgerKeys.count)
        case nil: break
        }
        let validation = options.validation
        let output = self.output
        let finalized = try await DedicatedThread.run("finalize") {
            FreedMemory.release()  // what the items needed, let go with `extractPending`'s locals
            let finalizer = Finalizer(
                output: self.output, staging: self.stagingPath, format: self.format, options: self.options.recovery,
                fileSystem: self.fileSystem)
            // On the finalize thread (off the cooperative pool): wait for the async check here.
            let validate = { (_: Finalizer.Report) throws in
                if let validation { try Self.waitFor { try await validation(output) } }
            }
            // Nothing completed over an output already final (a rerun with nothing pending): confirm, do not rewrite.
            // (A first run whose every item failed has no output yet: the finalize writes the empty one.)
            if session.completed == 0, let rows = session.finalRows, rows > 0 {
                return try finalizer.confirmFinal(rows: rows, validate: validate)
            }
            return try finalizer.finalize(
                ledger: session.ledgerKeys, recoveredRows: session.recoveredRows, completedThisRun: session.completed,
                validate: validate)
        }
        return RunReport(
            inputs: session.inputs, alreadyDone: session.alreadyDone, completed: session.completed, failed: session.failed,
            rowsVerified: finalized.rowsWritten, duplicatesDropped: finalized.duplicatesDropped,
            recordedFromStaging: session.recordedFromStaging, ledgerRecovery: session.ledgerRecovery,
            stagingRecovery: session.stagingRecovery, failures: session.failures)
    }

    /// What extracting the pending items left for the finalize.
    private struct Extracted: Sendable {
        /// Distinct inputs.
        var inputs: Int
        var alreadyDone: Int
        var completed: Int
        var failed: Int
        /// Every key the ledger holds once the items are done.
        var ledgerKeys: RecordKeySet
        var recoveredRows: Int
        var finalRows: Int?
        var recordedFromStaging: Int
        var ledgerRecovery: RecoveryReport
        var stagingRecovery: RecoveryReport
        var failures: FailureTally
    }

    /// Opens the state, runs the pending items, closes the files; throws when the run stopped before the end.
    private func extractPending(
        inputs: [RecordKey], stop: StopRequest, extract: @escaping @Sendable (RecordKey) async throws -> [UInt8]
    ) async throws -> Extracted {
        let (opened, unique, pending) = try await DedicatedThread.run("open run state") {
            // Held in this optional alone, so that emptying it lets the set go.
            var inputKeys: RecordKeySet?
            let repeated: Int
            (inputKeys, repeated) = RecordKeySet.gathering(inputs)
            let unique = repeated == 0 ? inputs : Self.firstOfEach(inputs)
            // The ledger keeps the inputs' instances of its keys: a million keys are held once, not once per file.
            let opened = try self.openState(sharingKeysWith: &inputKeys)
            let done = opened.ledger.keys
            let pending = unique.filteredConcurrently { !done.contains($0) }
            FreedMemory.release()  // the parsing threads' copies of keys the sets already held
            return (opened, unique, pending)
        }
        let (ledger, staging, errors, unrecorded) = (opened.ledger, opened.staging, opened.errors, opened.unrecorded)
        var previousAttempts: [RecordKey: Int] = [:]
        for failure in errors.recovered { previousAttempts[failure.key, default: 0] += 1 }

        let counts = Tally()
        let alreadyDone = unique.count - pending.count
        let guardrails = Guardrails(
            total: unique.count, memoryLimit: options.memoryLimit, heartbeatInterval: options.heartbeatInterval,
            heartbeatRecord: options.heartbeatInterval == nil ? nil : heartbeatPath,
            stallTimeout: options.stallTimeout,
            diskReserve: options.minimumFreeSpace.map { DiskReserve(bytes: $0, at: outputDirectory) },
            fileSystem: fileSystem, logger: options.recovery.logger,
            spaceEstimate: { [self] in
                let (completed, failed) = counts.current
                return spaceEstimate(rowsSoFar: alreadyDone + completed, pendingItems: pending.count - completed - failed)
            })
        guardrails.progress.skip(alreadyDone)

        let budget = options.failureBudget
        let report = options.progress
        report?(guardrails.progress.snapshot())  // before any item: what earlier runs did, and the display starts
        let attempts = previousAttempts
        let retry = options.retry
        let isTransient = options.isTransient
        let logger = options.recovery.logger
        // Durable per item: in the item's own task, the row is synced into staging, then its key into the ledger,
        // before the item counts as done (a failure goes to the errors file, never to the ledger: the next run
        // retries it). Items that complete close together share the syncs (``ItemCommits``).
        let commits = ItemCommits(staging: staging, ledger: ledger)
        let scheduler = Scheduler<ItemOutcome>(
            jobs: options.jobs, stop: stop, guardrails: guardrails,
            policy: .eachItem { outcome in
                switch outcome {
                case .row(let row, let retried):
                    for failure in retried { try await errors.append(failure) }
                    try await commits.commit(row)  // the row durable in staging first, then its key in the ledger
                    counts.add(completed: 1)
                    guardrails.progress.mark(completed: 1)  // the scheduler checks the limits after each item
                case .failed(let failure, let retried):
                    for failure in retried { try await errors.append(failure) }
                    try await errors.append(failure)
                    counts.add(failed: 1)
                    counts.record(failure)
                    guardrails.progress.mark(failed: 1)
                }
                report?(guardrails.progress.snapshot())
            })
        let ended = await scheduler.cancellingOnForce { () async throws -> Bool in
            try await guardrails.run {
                var feed = ItemList(pending)
                var stopped = false
                try await scheduler.run(&feed, attempt: { key in
                    let earlier = attempts[key] ?? 0
                    let retried = Mutex<[FailedAttempt]>([])
                    commits.started()  // it commits (`.row`) or is abandoned below
                    do {
                        let row = try await retry.attempt(
                            isTransient: isTransient,
                            onFailure: { error, n in
                                retried.withLock { $0.append(FailedAttempt(key: key, message: "\(error)", attempt: earlier + n)) }
                                logger.debug("retrying \(key) after attempt \(earlier + n): \(error)", metadata: ["key": "\(key)"])
                            }
                        ) { _ in try KeyedRow(key: key, json: try await extract(key)) }
                        return .row(row, retried: retried.withLock { $0 })
                    } catch {
                        commits.abandoned()
                        if error is CancellationError { throw CancellationError() }
                        // The item failed (its command, or a row that is not a JSON object), past its retries.
                        let before = retried.withLock { $0 }
                        logger.debug("\(key) failed at attempt \(earlier + before.count + 1): \(error)", metadata: ["key": "\(key)"])
                        return .failed(
                            FailedAttempt(key: key, message: "\(error)", attempt: earlier + before.count + 1), retried: before)
                    }
                }) { _ in
                    // A share is of the run's inputs, not of this session's pending ones: one input that always fails
                    // must not stop every later run (1 of 1 pending is 100 %).
                    if let budget, !budget.allows(counts.current.failed, of: unique.count) { stopped = true }
                    return stopped ? .stopStarting : .keepStarting
                }
                return stopped
            }
        }
        let stoppedEarly: Bool
        switch ended {
        case .success(let stopped): stoppedEarly = stopped
        case .failure(is CancellationError) where stop.isRequested:
            stoppedEarly = false  // forced: items in flight were cancelled; they are pending for the next run
        case .failure(let error): throw error
        }
        // Every key made durable, recovered or inserted: no need to read the file again.
        let ledgerKeys = try await DedicatedThread.run("close run state") { () throws -> RecordKeySet in
            try staging.close()
            let keys = ledger.keys
            try ledger.close()
            try errors.close()
            return keys
        }
        let (completed, failed) = counts.current
        if let reason = stop.reason {
            let done = unique.count - pending.count + completed
            throw RunError(
                .interrupted,
                message: "interrupted by \(reason): \(done.formatted) done, \((unique.count - done).formatted) pending\(failed > 0 ? ", \(failed.formatted) failed" : "")",
                hint: "Everything acknowledged is durable; rerun the same command to resume.", stopReason: reason)
        }
        if stoppedEarly {
            throw RunError(
                .failureBudgetExceeded,
                message: "\(failed.formatted) items failed, past the budget (\(budget.map { $0.describe(items: unique.count) } ?? "")); stopped starting new items\(counts.failures.summary().map { "; \($0)" } ?? "")",
                hint: "Everything that completed is durable; see \(errorsPath) for the failures, fix the cause, and run again.")
        }

        return Extracted(
            inputs: unique.count, alreadyDone: unique.count - pending.count, completed: completed, failed: failed,
            ledgerKeys: ledgerKeys, recoveredRows: opened.recoveredRows, finalRows: opened.finalRows,
            recordedFromStaging: unrecorded.count, ledgerRecovery: ledger.recovery, stagingRecovery: staging.recovery.report,
            failures: counts.failures)
    }

    /// `keys` without the repeats of a key, in order.
    private static func firstOfEach(_ keys: [RecordKey]) -> [RecordKey] {
        var seen = RecordKeySet()
        return keys.filter { seen.insert($0) }
    }

    /// One item's outcome, committed by the run's per-item policy.
    enum ItemOutcome: Sendable {
        /// The row, after the retried attempts that failed first.
        case row(KeyedRow, retried: [FailedAttempt])
        /// The last failed attempt, after those retried before it.
        case failed(FailedAttempt, retried: [FailedAttempt])
    }

    /// The run's state files, opened and recovered, with the restart check passed.
    struct OpenedState: Sendable {
        let ledger: KeyLedger
        let staging: StagingFile
        let errors: Ledger<FailedAttempt>
        /// Keys whose row was durable in staging but not in the ledger: recorded now.
        let unrecorded: RecordKeySet
        /// Distinct keys with a row in the output or staging.
        let recoveredRows: Int
        /// The output's rows when it is already final (`Finalizer.isFinal`): a run that completes nothing need not
        /// write it again.
        let finalRows: Int?
    }

    /// Blocking (run it off the pool): removes stale temporary files, opens and recovers ledger, staging and
    /// errors, records in the ledger the keys whose rows staging holds, and fails closed when a key the ledger
    /// lists has no row.
    ///
    /// The state's key sets keep `inputs`' instance of every key it holds (see `RecordKeySet.member(equalTo:)`);
    /// `inputs` is emptied once the ledger has them, so that set is not held while staging and the output are read.
    func openState(sharingKeysWith inputs: inout RecordKeySet?) throws -> OpenedState {
        try removeStaleTemporaryFiles()
        let ledger = try KeyLedger.open(
            at: ledgerPath, options: options.recovery, sharingKeysWith: inputs, fileSystem: fileSystem)
        inputs = nil
        FreedMemory.release()  // that set, and the parsing threads' copies of keys it already held
        let staging = try StagingFile.open(
            at: stagingPath, options: options.recovery, sharingKeysWith: ledger.keys, fileSystem: fileSystem)
        let errors = try Ledger<FailedAttempt>.open(at: errorsPath, options: options.recovery, fileSystem: fileSystem)
        let outputCensus = try KeyCensus.scan(
            rowsAt: output, format: format, options: options.recovery, sharingKeysWith: ledger.keys, fileSystem: fileSystem)

        // A row durable in staging whose key never reached the ledger is work done: record it.
        let unrecorded = staging.recovery.keys.subtracting(ledger.keys)
        if !unrecorded.isEmpty {
            try ledger.insert(contentsOf: unrecorded)
            // Said now, at recovery: a run that is cut again, or stops early, must not take the news with it.
            options.recovery.logger.notice("\(RunReport.recordedFromStagingLine(unrecorded.count))", metadata: ["path": "\(ledgerPath)"])
        }

        // Fail closed before any work: every key the ledger lists must have its row.
        let accounted = try RowAccounting.checkRestart(
            ledger: ledger.keys, output: outputCensus, staging: staging.recovery.census, hint: repairHint)
        let isFinal = Finalizer.isFinal(output: outputCensus, staging: staging.recovery.census, accounted: accounted)
        return OpenedState(
            ledger: ledger, staging: staging, errors: errors, unrecorded: unrecorded, recoveredRows: accounted.presentCount,
            finalRows: isFinal ? outputCensus.rowCount : nil)
    }
}

extension CheckpointedRun {
    /// Runs `body` and blocks this (dedicated, non-pool) thread until it ends.
    private static func waitFor(_ body: @escaping @Sendable () async throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<Void, any Error>>(.success(()))
        Task {
            do { try await body() } catch { outcome.withLock { $0 = .failure(error) } }
            done.signal()
        }
        done.wait()
        try outcome.withLock { $0 }.get()
    }

    /// Removes the temporary files a cut left beside the output and its state files (a heartbeat's, a
    /// finalize's, a repair's), under the run's lock: only DurableIO's own, and only stale ones — see
    /// ``AtomicFile/removeLeftovers(beside:fileSystem:)``.
    func removeStaleTemporaryFiles() throws {
        var removed: [FilePath] = []
        for path in stateFiles where path != lockPath {
            removed += try AtomicFile.removeLeftovers(beside: path, fileSystem: fileSystem)
        }
        guard !removed.isEmpty else { return }
        let names = removed.prefix(3).compactMap { $0.lastComponent.map { "\($0)" } }.joined(separator: ", ")
        options.recovery.logger.notice(
            "removed \(removed.count.formatted) stale temporary file(s) an earlier run left (\(names)\(removed.count > 3 ? ", …" : ""))",
            metadata: ["directory": "\(output.parentDirectory)"])
    }
}

/// Completed and failed counts shared by a run's tasks.
final class Tally: Sendable {
    private let state = Mutex((completed: 0, failed: 0))
    private let messages = Mutex(FailureTally())

    /// Counts a failed item's message, for the summary's most common failures.
    func record(_ failure: FailedAttempt) {
        messages.withLock { $0.record(failure.message, key: "\(failure.key)") }
    }

    /// The failure messages counted so far.
    var failures: FailureTally { messages.withLock { $0 } }

    func add(completed: Int = 0, failed: Int = 0) {
        state.withLock {
            $0.completed += completed
            $0.failed += failed
        }
    }

    var current: (completed: Int, failed: Int) { state.withLock { $0 } }
}
