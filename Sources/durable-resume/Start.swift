import ArgumentParser
import DurableCLI
import DurableRunStore
import DurableStores

/// `durable-resume start`: creates a run and processes every item.
struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a run over a source and process every item; prints `run <ID>` first.",
        discussion: """
            The source is ingested first when it is not in the database yet (--id is then required). The first \
            line on stdout is `run <ID>`, printed before any work (on stderr with --json, whose stdout is one JSON object). With RESUME=1 and EXPERIMENT_ID set, `start` \
            resumes that run instead (unless --no-resume), checking --source against the run's checksum and honouring \
            RETRY_ERRORS_ONLY=1: flags win over the environment. With --backup on an existing database, a \
            consistent copy of it is taken first (a new database has nothing to back up: noted, skipped).

            \(DurableExitCode.helpText)
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var source: SourceOptions
    @OptionGroup var configurationOptions: ConfigurationOptions
    @OptionGroup var session: SessionOptions
    @OptionGroup(title: "Backup") var backup: BackupOptions

    @Option(help: "A name for the run.")
    var runName: String?

    @Flag(inversion: .prefixedNo, help: "Resume EXPERIMENT_ID instead of starting (default: RESUME=1 in the environment).")
    var resume: Bool?

    @Flag(help: "Print one JSON summary (schema 1) at the end; stdout then holds only that object (`run <ID>` goes to stderr).")
    var json = false

    func validate() throws {
        guard configurationOptions.command != nil || resume ?? Environment.flag("RESUME") else {
            throw ValidationError("--command is required to start a run")
        }
        if backup.isRequested && database.isPostgres { throw ValidationError(BackupOptions.postgresRefusal) }
    }

    func run() async throws {
        try await database.runSession(
            "durable-resume start", options: session, json: json,
            before: { try await database.backUp(backup, reserve: session.guardrails.resources, onlyIfExists: true) }
        ) { opened, session in
            if resume ?? Environment.flag("RESUME") {
                guard let id = Environment.value("EXPERIMENT_ID") else {
                    throw ValidationError("RESUME=1 needs EXPERIMENT_ID=<run id> (or pass --no-resume to start a new run)")
                }
                return try await Resume.resume(
                    opened: opened, runID: id,
                    request: .init(
                        selection: Environment.flag("RETRY_ERRORS_ONLY") ? .retryErrorsOnly : .missingOnly,
                        sourceFile: source.source, given: configurationOptions.overrides),
                    session: session)
            } else {
                let report = try await opened.store.resolveSource(
                    at: source.source, name: source.name, format: source.format, idColumns: source.idColumns,
                    allowNewVersion: source.newVersion)
                if !report.skipped {
                    let s = report.source
                    note("ingested \(s.name) v\(s.version): \(s.itemCount) items, sha256 \(s.checksum)")
                }
                let configuration = RunConfiguration(
                    command: configurationOptions.command ?? "", batchSize: configurationOptions.batchSize ?? 100,
                    batchSeconds: configurationOptions.batchSeconds?.duration.seconds ?? 5,
                    itemTimeoutSeconds: configurationOptions.itemTimeout?.duration.seconds)
                return try await session.run(closing: opened) { options in
                    try await opened.start(
                        source: report.source, name: runName, configuration: configuration, options: options,
                        announce: { session.announce($0) }, process: session.process(for: configuration))
                }
            }
        }
    }
}
