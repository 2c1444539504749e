import DurableIO

/// What a ``CheckpointedRun`` did, after its output was verified.
///
/// ```swift
/// let report = try await run.run(inputs: keys) { key in try await extract(key) }
/// if report.failed > 0 { print("\(report.failed) failed; rerun to retry them") }
/// ```
public struct RunReport: Sendable, CustomStringConvertible {
    /// Distinct inputs.
    public var inputs: Int
    /// Inputs an earlier run had done.
    public var alreadyDone: Int
    /// Inputs extracted by this run.
    public var completed: Int
    /// Inputs that failed in this run (recorded in the errors file; retried next run).
    public var failed: Int
    /// Rows in the final output, verified by reading it back.
    public var rowsVerified: Int
    /// Duplicate rows dropped while finalizing.
    public var duplicatesDropped: Int
    /// Rows durable in staging whose key had not reached the ledger when the run started (the previous run died
    /// between the two writes): recorded in the ledger, not extracted again.
    public var recordedFromStaging: Int
    /// What recovering the ledger found.
    public var ledgerRecovery: RecoveryReport
    /// What recovering staging found.
    public var stagingRecovery: RecoveryReport
    /// This run's failure messages, counted (`FailureTally.summary(limit:)` gives the most common ones).
    public var failures = FailureTally()

    /// One line per recovered file that had damage (malformed lines, a torn tail), and one for staged rows whose
    /// keys were recorded, for the operator.
    public var recoveryLines: [String] {
        var lines = [("ledger", ledgerRecovery), ("staging", stagingRecovery)].compactMap { name, report in
            report.isClean ? nil : "\(name) recovered with damage: \(report)"
        }
        if recordedFromStaging > 0 { lines.append(Self.recordedFromStagingLine(recordedFromStaging)) }
        return lines
    }

    /// `3 row(s) were durable in staging but not yet in the ledger …`: said at recovery and in the summary.
    static func recordedFromStagingLine(_ count: Int) -> String {
        "\(count.formatted) row(s) were durable in staging but not yet in the ledger (the last run stopped between the two writes): recorded, not extracted again"
    }

    public var description: String {
        let state = failed == 0 ? "complete" : "finished with failures"
        let duplicates = duplicatesDropped > 0 ? "; \(duplicatesDropped.formatted) duplicate rows dropped, the newest kept" : ""
        return "\(state): \(rowsVerified.formatted) rows verified (\(alreadyDone.formatted) already done, \(completed.formatted) extracted, \(failed.formatted) failed\(duplicates))"
    }
}
