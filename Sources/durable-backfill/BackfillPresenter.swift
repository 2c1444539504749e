import DurableCLI
import DurableIO
import DurableSQLite
import Foundation
import Logging

/// What `run` and `resume` share: signals, the progress display, the summary line and the exit code.
enum BackfillPresenter {
    /// The command that continues a backfill, ready to paste: `durable-backfill resume --db app.db --name b1`.
    static func resumeCommand(database: String, name: String) -> String {
        "durable-backfill resume --db \(ShellWord.quoted(database)) --name \(ShellWord.quoted(name))"
    }

    /// Runs `body` with SIGINT/SIGTERM/SIGHUP turned into a stop request and progress shown, then prints the outcome
    /// and exits with its code. With `--metrics-file`, the rows by key position are its items (done, pending).
    static func execute(
        _ command: String, database: String, name: String, quiet: Bool, exitHook: ExitHookOptions, runLog: RunLogOptions,
        metrics: MetricsOptions, before: () -> Int32? = { nil },
        _ body: (StopRequest, (BackfillRecord) -> Void) throws -> BackfillOutcome
    ) throws -> Never {
        let log = runLog.open()
        var logger: Logger?
        if let log {
            log.name(name)  // one folder per backfill
            logger = log.logger(label: "durable-backfill")
            logger?.info("\(command) started", metadata: ["database": "\(database)", "name": "\(name)", "pid": "\(getpid())"])
        }
        // `before` (the --backup) can end the command too: the hook and the log see that ending as any other.
        let code = before() ?? outcome(database: database, name: name, quiet: quiet, logger: logger, metrics: metrics, body)
        exitHook.finishBlocking(command, code: code, log: log)
        exit(code)
    }

    /// Runs the backfill, prints how it ended, and returns the exit code.
    private static func outcome(
        database: String, name: String, quiet: Bool, logger: Logger?, metrics: MetricsOptions,
        _ body: (StopRequest, (BackfillRecord) -> Void) throws -> BackfillOutcome
    ) -> Int32 {
        let stop = StopRequest()
        let signals = SignalHandler.install(stop: stop, grace: .seconds(30))
        let renderer = ProgressRenderer(style: quiet ? .quiet : .automatic)
        let resume = BackfillPresenter.resumeCommand(database: database, name: name)
        let outcome: BackfillOutcome
        let display = Display()
        let metricsFile = metrics.file(output: MetricsOptions.absolute(database), runID: name)
        do {
            try metricsFile?.start()
            outcome = try body(stop) { record in
                logger?.debug("batch committed: \(record)")
                let snapshot = display.snapshot(record)
                metricsFile?.observe(snapshot)
                renderer.update(snapshot)
            }
            metricsFile?.finish()
        } catch {
            metricsFile?.finish()
            signals.uninstall()
            if renderer.style == .terminal { renderer.finish("") }  // clear the progress line
            return ErrorReport.print(error).rawValue
        }
        signals.uninstall()
        // The summary goes out even with --quiet: it says how the run ended and how to go on.
        func conclude(_ summary: String) { renderer.conclude(summary) }
        let record = outcome.record
        try? JSONOutput.summary(BackfillJSON(record), schema: 2, printing: false)  // for the --on-exit hook
        switch outcome {
        case .completed:
            conclude("completed: \(record)")
            return DurableExitCode.success.rawValue
        case .interrupted(_, let reason):
            conclude("interrupted: \(record)\nContinue with: \(resume)")
            return DurableExitCode(stoppedBy: reason).rawValue
        case .alreadyCompleted:
            ProgressRenderer.standardError("nothing to do: '\(name)' already completed at \(record.finishedAt ?? record.updatedAt)\n\(record)\n")
            return DurableExitCode.alreadyCompleted.rawValue
        }
    }

    /// With `--backup`, copies the database (``DatabaseBackup``) before the backfill touches it, keeping
    /// `--min-free-disk` free, and notes where the copy went; a failed backup returns its exit code (6 for the disk
    /// preflight), and the backfill does not start.
    static func backUp(database: String, _ options: BackupOptions, reserve: ResourceLimitOptions) -> Int32? {
        guard options.isRequested else { return nil }
        do {
            let result = try DatabaseBackup.make(
                of: FilePath(database),
                options: .init(directory: options.backupDir.map { FilePath($0) }, keep: options.keepBackups, reserve: reserve.minFreeDisk.bytes))
            ProgressRenderer.standardError(result.description + "\n")
            return nil
        } catch {
            return ErrorReport.print(error).rawValue
        }
    }
}

/// Turns recorded progress into the renderer's snapshot: the position by key, scaled to the rows in scope at the
/// start, with a rate and ETA from the guardrails' tracker.
final class Display {
    private var tracker: ProgressTracker?
    private var position = 0

    func snapshot(_ record: BackfillRecord) -> ProgressSnapshot {
        let total = record.totalRows ?? 0
        let now = Int((record.fraction ?? 0) * Double(total))
        guard let tracker else {
            let tracker = ProgressTracker(total: total)
            tracker.skip(now)
            self.tracker = tracker
            position = now
            return tracker.snapshot()
        }
        tracker.mark(completed: max(0, now - position))
        position = now
        return tracker.snapshot()
    }
}

/// Writes `text` and a newline to standard output at once (a script may be waiting for it on a pipe).
func say(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if n <= 0 { if n < 0 && errno == EINTR { continue } else { return } }
        offset += n
    }
}
