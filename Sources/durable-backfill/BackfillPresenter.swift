import DurableCLI
import DurableIO
import DurableSQLite
import Foundation

/// What `run` and `resume` share: signals, the progress display, the summary line and the exit code.
enum BackfillPresenter {
    /// Runs `body` with SIGINT/SIGTERM/SIGHUP turned into a stop request and progress shown, then prints the outcome
    /// and exits with its code.
    static func execute(
        database: String, name: String, quiet: Bool,
        _ body: (StopRequest, (BackfillRecord) -> Void) throws -> BackfillOutcome
    ) throws -> Never {
        let stop = StopRequest()
        let signals = SignalHandler.install(stop: stop, grace: .seconds(30))
        let renderer = ProgressRenderer(style: quiet ? .quiet : .automatic)
        let resume = "durable-backfill resume --db \(database) --name \(name)"
        let outcome: BackfillOutcome
        let display = Display()
        do {
            outcome = try body(stop) { record in renderer.update(display.snapshot(record)) }
        } catch {
            signals.uninstall()
            if renderer.style == .terminal { renderer.finish("") }  // clear the progress line
            exit(ErrorReport.print(error).rawValue)
        }
        signals.uninstall()
        // The summary goes out even with --quiet: it says how the run ended and how to go on.
        func conclude(_ summary: String) {
            if renderer.style == .quiet { ProgressRenderer.standardError(summary + "\n") } else { renderer.finish(summary) }
        }
        let record = outcome.record
        switch outcome {
        case .completed:
            conclude("completed: \(record)")
            exit(DurableExitCode.success.rawValue)
        case .interrupted(_, let reason):
            conclude("interrupted: \(record)\nContinue with: \(resume)")
            exit(DurableExitCode(stoppedBy: reason).rawValue)
        case .alreadyCompleted:
            ProgressRenderer.standardError("nothing to do: '\(name)' already completed at \(record.finishedAt ?? record.updatedAt)\n\(record)\n")
            exit(DurableExitCode.alreadyCompleted.rawValue)
        }
    }

    /// With `--backup`, copies the database (``DatabaseBackup``) before the backfill touches it, keeping
    /// `--min-free-disk` free, and notes where the copy went; a failed backup exits with its code (6 for the disk
    /// preflight) before anything is written.
    static func backUp(database: String, _ options: BackupOptions, reserve: ResourceLimitOptions) {
        guard options.isRequested else { return }
        do {
            let result = try DatabaseBackup.make(
                of: FilePath(database),
                options: .init(directory: options.backupDir.map { FilePath($0) }, keep: options.keepBackups, reserve: reserve.minFreeDisk.bytes))
            ProgressRenderer.standardError(result.description + "\n")
        } catch {
            exit(ErrorReport.print(error).rawValue)
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
