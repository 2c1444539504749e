import ArgumentParser
import DurableCLI
import DurableIO
import DurableSQLite

/// `durable-backfill resume`: continue a failed or interrupted backfill from its recorded cursor.
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue a backfill from its recorded cursor, with its recorded bound and options.",
        discussion: """
            A completed backfill is left alone: the command says so and exits 5. --backup takes a consistent \
            copy of the database first (see --backup below; skipped for a completed backfill).

            \(DurableExitCode.helpText)
            """)

    @Option(help: "The SQLite database file.")
    var db: String
    @Option(help: "The backfill's name.")
    var name: String
    @OptionGroup var quietOption: QuietOption
    @OptionGroup(title: "Guardrails") var limits: ResourceLimitOptions
    @OptionGroup(title: "Alerts and logs") var exitHook: ExitHookOptions
    @OptionGroup(title: "Alerts and logs") var runLog: RunLogOptions

    @OptionGroup(title: "Metrics") var metrics: MetricsOptions

    @OptionGroup(title: "Backup") var backup: BackupOptions

    func run() throws {
        try BackfillPresenter.execute(
            "durable-backfill resume", database: db, name: name, quiet: quietOption.quiet, exitHook: exitHook, runLog: runLog,
            metrics: metrics,
            before: {
                if backup.isRequested, let record = try? Backfill.status(named: name, in: db), record.status == .completed {
                    // A no-op resume must not rotate out the backups that matter; the resume below says it is completed.
                    ProgressRenderer.standardError("backup: skipped, '\(name)' is already completed\n")
                    return nil
                }
                return BackfillPresenter.backUp(database: db, backup, reserve: limits)
            }
        ) { stop, progress in
            try Backfill.resume(named: name, in: db, stop: stop, limits: limits.limits(diskHolding: FilePath(db)), progress: progress)
        }
    }
}
