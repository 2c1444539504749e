import ArgumentParser
import DurableCLI
import DurableIO
import DurableSQLite

/// `durable-backfill run`: start a new backfill.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Start a backfill and run it to the end.",
        discussion: """
            The same --name with another --table, --key, --set or --where is refused, showing the difference: choose \
            a new --name, or, for a backfill that changed no row (it failed before its first batch committed), pass \
            --replace. A --set that assigns the key column is refused. A backfill rewrites a live table: --backup \
            takes a consistent copy of the database first (SQLite's online backup API; see --backup below).

            Example:
              durable-backfill run --db app.db --name tx_last_seen_backfill_v1 --table transmissions --key id \\
                --set 'last_seen = COALESCE((SELECT MAX(timestamp) FROM observations WHERE transmission_id = transmissions.id), last_seen)' \\
                --where 'last_seen = 0'

            \(DurableExitCode.helpText)
            """)

    @Option(help: "The SQLite database file (it must exist; its journal mode is left as it is).")
    var db: String
    @Option(help: "A name for the backfill, unique in the database (letters, digits, _ - .).")
    var name: String
    @Option(help: "The table to update.")
    var table: String
    @Option(name: .customLong("set"), help: "The assignments after SET, e.g. 'col = expr'.")
    var setClause: String
    @Option(name: .customLong("where"), help: "The condition after WHERE (rows that do not match are skipped).")
    var predicate: String?
    @Option(help: "The integer key column batches walk (rowid or an INTEGER PRIMARY KEY).")
    var key: String = "rowid"
    @Option(help: "A fixed number of rows per batch (instead of --target-batch-time).", transform: NumericArgument.count(in: 1...1_000_000))
    var batchSize: Int?
    @Option(help: "Size batches toward this time each, e.g. 50ms (the default).", transform: DurationArgument.parse)
    var targetBatchTime: DurationArgument?
    @Option(name: .customLong("yield"), help: "A fixed pause after each batch, e.g. 100ms (added to the nice-ratio pause).", transform: DurationArgument.parse)
    var yieldTime: DurationArgument = DurationArgument(.zero)
    @Option(help: "Pause after each batch for this multiple of the batch's time (0 for none; at 0 the application's writer waits out the whole backfill).", transform: NumericArgument.number(in: 0...1000))
    var niceRatio: Double = BackfillOptions().niceRatio
    @Option(help: "Wait this long for another connection's lock before a query fails, e.g. 5s.", transform: DurationArgument.parse)
    var busyTimeout: DurationArgument = DurationArgument(.seconds(5))
    @Option(help: "In WAL mode, checkpoint (TRUNCATE) once the WAL is larger than this many MiB.", transform: NumericArgument.count(in: 1...1_048_576))
    var walCheckpointMib: Int = 64
    @Flag(help: "Replace the record of a backfill of this name that changed no row (e.g. one that failed on a typo in --set); refused once it has changed rows.")
    var replace = false
    @OptionGroup var quietOption: QuietOption
    @OptionGroup(title: "Guardrails") var limits: ResourceLimitOptions
    @OptionGroup(title: "Alerts and logs") var exitHook: ExitHookOptions
    @OptionGroup(title: "Alerts and logs") var runLog: RunLogOptions
    @OptionGroup(title: "Metrics") var metrics: MetricsOptions
    @OptionGroup(title: "Backup") var backup: BackupOptions

    func validate() throws {
        if batchSize != nil && targetBatchTime != nil {
            throw ValidationError("Pass --batch-size or --target-batch-time, not both.")
        }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1.") }
        if niceRatio < 0 { throw ValidationError("--nice-ratio must not be negative.") }
        if walCheckpointMib < 1 { throw ValidationError("--wal-checkpoint-mib must be at least 1.") }
    }

    func run() throws {
        var options = BackfillOptions()
        if let batchSize { options.batchSizing = .fixed(rows: batchSize) }
        if let targetBatchTime { options.batchSizing = .targetTime(targetBatchTime.duration) }
        options.fixedYield = yieldTime.duration
        options.niceRatio = niceRatio
        options.busyTimeout = busyTimeout.duration
        options.checkpointThreshold = walCheckpointMib << 20
        let definition = BackfillDefinition(name: name, table: table, set: setClause, where: predicate, key: key)
        try BackfillPresenter.execute(
            "durable-backfill run", database: db, name: name, quiet: quietOption.quiet, exitHook: exitHook, runLog: runLog,
            metrics: metrics, before: { BackfillPresenter.backUp(database: db, backup, reserve: limits) }
        ) { stop, progress in
            try Backfill.run(
                definition, options: options, in: db, replace: replace, stop: stop,
                limits: limits.limits(diskHolding: FilePath(db)), progress: progress)
        }
    }
}
