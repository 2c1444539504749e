import DurableIO
import Foundation
import Logging
import SystemPackage

/// A crash-safe, resumable extraction over many inputs: ledger + staging + atomic final output + row accounting +
/// lock + guardrails, in one type, so a program gets the whole protocol in a few lines.
///
/// State beside the output `<out>`: `<out>.done` (the ledger of keys), `<out>.rows.jsonl` (staging),
/// `<out>.errors.jsonl` (failures), `<out>.lock` (a `FileLock`) and `<out>.heartbeat`.
///
/// A run: takes the lock; recovers ledger and staging (damage reported); records in the ledger any key whose
/// row is durable in staging but whose key never reached the ledger; runs the restart check — a key the ledger
/// lists whose row is in neither output nor staging fails the run closed, nothing changed; extracts the pending
/// inputs with bounded concurrency, each row durable in staging before its key goes to the ledger (group commit
/// shares the syncs); records failures (never in the ledger: the next run retries them) and stops early past the
/// failure budget; then finalizes (atomic output, read back and accounted, staging removed). When nothing is
/// pending it still runs the check, and only then says complete.
///
/// ```swift
/// let run = CheckpointedRun(output: "features.jsonl", options: .init(jobs: 8))
/// let report = try await run.run(inputs: clips.map(RecordKey.init)) { key in
///     try await extractFeatures(of: key.string!)          // the row: bytes of a JSON object
/// }
/// print(report)   // "complete: 152,265 rows verified (41,200 already done, 111,065 extracted, 0 failed)"
/// ```
public final class CheckpointedRun: Sendable {
    /// How a run behaves.
    public struct Options: Sendable {
        /// Items in flight at once.
        public var jobs: Int
        /// Stop starting items once this many (or this fraction of all the inputs) have failed in this run; `nil`: never.
        public var failureBudget: FailureBudget?
        /// Resident + swap limit in bytes; `nil` for none.
        public var memoryLimit: Int64?
        /// Cancel the run when nothing completes for this long; `nil` for no watchdog.
        public var stallTimeout: Duration?
        /// Progress line and heartbeat record interval; `nil` for none.
        public var heartbeatInterval: Duration?
        /// How long to wait for the lock before failing with the holder's name.
        public var lockTimeout: Duration
        /// How recovery treats damage (strictness, logger).
        public var recovery: RecoveryOptions
        /// Called once before the first item (with the items earlier runs did as `skipped`), then after each item,
        /// with the run's progress (for a progress bar; keep it quick).
        public var progress: (@Sendable (ProgressSnapshot) -> Void)?
        /// Retries of a failed item within the run, for failures `isTransient` accepts; each failed attempt is
        /// recorded in the errors file. Default: none.
        public var retry: RetryPolicy = .none
        /// Which failures of `extract` are worth a retry. Default: an ``ItemCommandFailure`` that exited 75
        /// (`EX_TEMPFAIL`) or timed out.
        public var isTransient: @Sendable (any Error) -> Bool = { ($0 as? ItemCommandFailure)?.isTransient() ?? false }
        /// Rows the finished output must hold before the run says complete; `nil`: no check. Short: the run fails
        /// with `validationFailed` before finalize, everything durable, nothing written.
        public var expectedRows: RowExpectation?
        /// A check of the finished output (a user's validation command), run once it is written and accounted for
        /// and before staging is removed: throwing fails the run (staging kept; the next run finalizes and checks
        /// again). `nil`: none.
        public var validation: (@Sendable (FilePath) async throws -> Void)?
        /// Bytes to keep free on the file system that holds the output: checked before the first item and after
        /// items (at most once a second); below it the run stops (`insufficientDiskSpace`, a guardrail stop) with
        /// everything acknowledged durable, instead of running into `ENOSPC`. `nil`: no check.
        public var minimumFreeSpace: Int64?

        /// Creates options.
        public init(
            jobs: Int = 4, failureBudget: FailureBudget? = nil, memoryLimit: Int64? = nil,
            stallTimeout: Duration? = .seconds(300), heartbeatInterval: Duration? = .seconds(60),
            lockTimeout: Duration = .zero, recovery: RecoveryOptions = RecoveryOptions(),
            progress: (@Sendable (ProgressSnapshot) -> Void)? = nil, minimumFreeSpace: Int64? = nil
        ) {
            self.minimumFreeSpace = minimumFreeSpace
            self.jobs = max(1, jobs)
            self.failureBudget = failureBudget
            self.memoryLimit = memoryLimit
            self.stallTimeout = stallTimeout
            self.heartbeatInterval = heartbeatInterval
            self.lockTimeout = lockTimeout
            self.recovery = recovery
            self.progress = progress
        }
    }

    /// How many rows a finished output must hold.
    ///
    /// ```swift
    /// options.expectedRows = .fractionOfInputs(0.99)   // at least 99 % of the inputs have their row
    /// ```
    public enum RowExpectation: Sendable, Equatable {
        /// At least this many rows.
        case atLeast(Int)
        /// At least this fraction (0…1) of the run's inputs.
        case fractionOfInputs(Double)
    }

    /// How many failures a run tolerates.
    /// The core's `DurableIO.FailureBudget`; a fraction is of all the run's inputs, done ones included.
    public typealias FailureBudget = DurableIO.FailureBudget

    /// The final output.
    public let output: FilePath
    /// How the output stores rows: JSON Lines (the default) or ``CSVRowFormat``.
    public let format: any RowFileFormat
    /// The options.
    public let options: Options
    let fileSystem: any FileSystem

    /// `<out>.done`.
    public var ledgerPath: FilePath { sibling(".done") }
    /// `<out>.rows.jsonl`.
    public var stagingPath: FilePath { sibling(".rows.jsonl") }
    /// `<out>.errors.jsonl`.
    public var errorsPath: FilePath { sibling(".errors.jsonl") }
    /// `<out>.lock`.
    public var lockPath: FilePath { sibling(".lock") }
    /// `<out>.heartbeat`.
    public var heartbeatPath: FilePath { sibling(".heartbeat") }
    /// The directory that holds the output and its state files (`.` for a bare file name).
    var outputDirectory: FilePath { DiskReserve.directory(holding: output) }
    /// The output and every state file beside it.
    public var stateFiles: [FilePath] { [output, ledgerPath, stagingPath, errorsPath, lockPath, heartbeatPath] }

    private func sibling(_ suffix: String) -> FilePath {
        var copy = output
        let name = (output.lastComponent?.string ?? "output") + suffix
        copy.removeLastComponent()
        return copy.appending(name)
    }

    /// A run producing `output`.
    public init(
        output: FilePath, options: Options = Options(), format: any RowFileFormat = .jsonLines,
        fileSystem: any FileSystem = RealFileSystem()
    ) {
        self.output = output
        self.format = format
        self.options = options
        self.fileSystem = fileSystem
    }

    /// The operator's command to repair a loss, for error hints.
    var repairHint: String {
        "To re-extract them: durable-extract repair --output \(ShellWord.quoted(output.string)) (drops the missing keys from the ledger), then run again."
    }
}
