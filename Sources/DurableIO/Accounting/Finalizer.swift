import SystemPackage

/// The end of a staged job, in the one safe order: write the final output with an atomic replace (durable),
/// verify the accounting by reading the new output back, and only then remove the staging file and fsync the
/// directory. If the accounting fails, the staging file is kept for forensics.
///
/// The new output holds the existing output's rows followed by the staging rows, each key once: when both hold
/// a key, the staging row (the newer) wins, and the duplicate is counted. Memory is bounded by the key set.
///
/// ```swift
/// try staging.close()
/// let report = try Finalizer(output: "features.jsonl", staging: "features.jsonl.rows.jsonl")
///     .finalize(ledger: done.keys, recoveredRows: recovered, completedThisRun: completed)
/// print("\(report.rowsWritten) rows verified")
/// ```
public struct Finalizer: Sendable {
    /// The final output (JSONL of keyed rows).
    public var output: FilePath
    /// The staging file.
    public var staging: FilePath
    /// The seam.
    public var fileSystem: any FileSystem
    /// Recovery options for reading output and staging.
    public var options: RecoveryOptions
    /// How the output stores rows (staging is always JSON Lines).
    public var format: any RowFileFormat

    /// Creates a finalizer.
    public init(
        output: FilePath, staging: FilePath, format: any RowFileFormat = .jsonLines,
        options: RecoveryOptions = RecoveryOptions(), fileSystem: any FileSystem = RealFileSystem()
    ) {
        self.format = format
        self.output = output
        self.staging = staging
        self.options = options
        self.fileSystem = fileSystem
    }

    /// What a finalize did.
    public struct Report: Sendable, Equatable {
        /// Rows in the new output, verified by reading it back.
        public var rowsWritten: Int
        /// Of them, rows from the existing output.
        public var rowsFromOutput: Int
        /// Of them, rows from staging.
        public var rowsFromStaging: Int
        /// Output rows replaced by a staging row with the same key.
        public var replacedByStaging: Int
        /// Extra rows for one key within staging, or within the output, that were dropped.
        public var duplicatesDropped: Int
        /// Temporary files of crashed replaces removed beside the output.
        public var leftoversRemoved: Int
        /// Complete staging lines that were not valid rows (unreadable, so not in the output). Their keys, if the
        /// ledger lists them, fail the accounting.
        public var stagingLinesUnreadable: Int
    }

    /// Composes output and staging into the new output, verifies, then removes staging.
    ///
    /// - Parameters:
    ///   - ledger: the keys the ledger lists; every one must be in the new output.
    ///   - recoveredRows: distinct rows output ∪ staging held when the run started (`nil` skips that check).
    ///   - completedThisRun: rows this run completed.
    ///   - validate: a check of the new output once it is in place and accounted for, before staging is removed
    ///     (a user's validation command): what it throws is thrown, and staging is kept.
    /// - Throws: ``DurableIOError/Code/accountingMismatch`` (staging kept), what `validate` threw (staging kept), or
    ///   the failing step's error.
    @discardableResult
    public func finalize(
        ledger: RecordKeySet, recoveredRows: Int? = nil, completedThisRun: Int = 0,
        validate: (Report) throws -> Void = { _ in }
    ) throws -> Report {
        let leftovers = try AtomicFile.removeLeftovers(beside: output, fileSystem: fileSystem)
        // Which staging line wins for each key: the last. Every staged key is in `staged`; only a key staged more
        // than once (rare: a row re-made after a cut between staging and ledger) needs its winning line's index.
        var staged = RecordKeySet()
        var lastOfRepeated: [RecordKey: Int] = [:]
        var stagingRows = 0
        // Every key parsed below is one the ledger holds (or a row it does not list): keep the ledger's instance, so
        // these tables cost a slot per key, not another copy of every key's bytes.
        let shared = { (key: RecordKey) in ledger.member(equalTo: key) ?? key }
        let stagingDamage = try JSONLinesFormat().forEachNumberedRow(in: staging, fileSystem: fileSystem) { row, index in
            let key = shared(row.key)
            if !staged.insert(key) { lastOfRepeated[key] = index }
            stagingRows += 1
        }
        let isWinner = { (key: RecordKey, index: Int) in lastOfRepeated[key].map { $0 == index } ?? true }

        // The output's keys written so far: a repeated output row is dropped (staging rows are each written once, by
        // `isWinner`, so they need no entry here).
        var written = RecordKeySet()
        var fromOutput = 0
        var replaced = 0
        var duplicates = 0
        try AtomicFile.write(to: output, fileSystem: fileSystem) { writer in
            try format.encode({ emit in
                // A format may read the rows twice (to size a header first): count from zero each time.
                (written, fromOutput, replaced, duplicates) = (RecordKeySet(), 0, 0, 0)
                let outputDamage = try format.forEachRow(in: output, fileSystem: fileSystem) { row in
                    if staged.contains(row.key) {
                        replaced += 1
                    } else if written.insert(shared(row.key)) {
                        try emit(row)
                        fromOutput += 1
                    } else {
                        duplicates += 1
                    }
                }
                // The output is written whole by atomic replaces: damage in it is not a crash's, and dropping
                // those rows would lose them. Throwing here abandons the replace; the old output stays as it was.
                guard outputDamage.isClean else {
                    throw DurableIOError(
                        .accountingMismatch, operation: "finalize", path: output,
                        message:
                            "the output has \(outputDamage.malformed) malformed row(s) and \(outputDamage.tornBytes) torn byte(s); finalize would drop them",
                        hint: "Nothing was changed. Inspect the output (RecoveryReport lists the line numbers) and repair it by hand.")
                }
                try JSONLinesFormat().forEachNumberedRow(in: staging, fileSystem: fileSystem) { row, index in
                    guard isWinner(row.key, index) else { return }
                    try emit(row)
                }
            }, into: { try writer.write($0) })
        }
        let stagedKeys = staged.count
        duplicates += stagingRows - stagedKeys
        // Let the write's tables go before the census builds its own: the peak is one table, not three.
        (staged, lastOfRepeated, written) = (RecordKeySet(), [:], RecordKeySet())
        FreedMemory.release()

        // Verify what is on disk, not what we meant to write.
        let final = try KeyCensus.scan(
            rowsAt: output, format: format, options: options, sharingKeysWith: ledger, fileSystem: fileSystem)
        let reconciliation = RowAccounting.reconcile(ledger: ledger, present: final.keys, duplicateCount: final.duplicateCount)
        guard reconciliation.isConsistent else {
            throw RowAccounting.missingKeysError(
                reconciliation, operation: "finalize", path: output,
                hint:
                    "The new output (every row the old output and staging held) is in place, and the staging file \(staging) was kept. Inspect both before removing anything.")
        }
        if let recoveredRows {
            try RowAccounting.checkEndOfRun(final: final, recoveredRows: recoveredRows, completedThisRun: completedThisRun)
        } else if final.duplicateCount > 0 || final.report.malformedLineCount > 0 {
            throw DurableIOError(
                .accountingMismatch, operation: "finalize", path: output,
                message: "the new output has \(final.duplicateCount) duplicate keys and \(final.report.malformedLineCount) malformed lines",
                hint: "The staging file \(staging) was kept.")
        }

        let report = Report(
            rowsWritten: final.rowCount, rowsFromOutput: fromOutput, rowsFromStaging: stagedKeys,
            replacedByStaging: replaced, duplicatesDropped: duplicates, leftoversRemoved: leftovers.count,
            stagingLinesUnreadable: stagingDamage.malformed)
        try finish(report, validate: validate)
        return report
    }

    /// Whether an output is already final: its census (read under the run's lock) found each key the ledger lists
    /// exactly once and nothing else, clean, and staging holds no rows — so a finalize would write the same bytes
    /// again. Then ``confirmFinal(rows:validate:)`` finishes instead.
    package static func isFinal(output census: KeyCensus, staging: KeyCensus, accounted: Reconciliation) -> Bool {
        let clean = { (report: RecoveryReport) in report.malformedLineCount == 0 && report.tornTail == nil }
        // Staging empty and no key repeated: present = the output's keys, one per row; nothing missing and nothing
        // unexpected: present = the ledger.
        return census.duplicateCount == 0 && clean(census.report) && staging.rowCount == 0 && clean(staging.report)
            && accounted.isConsistent && accounted.unexpectedCount == 0
    }

    /// The finalize of a run that staged nothing over an output that ``isFinal(output:staging:accounted:)``: the
    /// output is synced where it is (a finalize cut before its directory sync, or an output copied into place, is
    /// made durable), `validate` runs, and the empty staging file is removed — nothing is rewritten.
    ///
    /// - Parameter rows: the rows the census counted.
    /// - Throws: the failing sync's error (never retried), or what `validate` threw (staging kept).
    package func confirmFinal(rows: Int, validate: (Report) throws -> Void = { _ in }) throws -> Report {
        if try fileSystem.isPresent(output) {
            do { try fileSystem.sync(output) } catch { throw DurableIOError.syscall("fsync", path: output, error) }
        }
        let report = Report(
            rowsWritten: rows, rowsFromOutput: rows, rowsFromStaging: 0, replacedByStaging: 0, duplicatesDropped: 0,
            leftoversRemoved: 0, stagingLinesUnreadable: 0)
        try finish(report, validate: validate)
        return report
    }

    /// The end of every finalize: the caller's check, then staging removed and the directory synced.
    private func finish(_ report: Report, validate: (Report) throws -> Void) throws {
        // The caller's check of the finished output (a validation command): throwing keeps staging.
        try validate(report)

        // Only now is staging redundant.
        do { try fileSystem.unlink(staging) } catch .noSuchFileOrDirectory {
            // No staging file: nothing to remove.
        } catch {
            throw DurableIOError.syscall("unlink", path: staging, error)
        }
        do { try fileSystem.syncDirectory(staging.parentDirectory) } catch {
            throw DurableIOError.syscall("directory fsync", path: staging.parentDirectory, error)
        }
    }
}
