import ArgumentParser
import DurableCLI
import DurableRunStore
import DurableStores
import Foundation

/// `durable-resume resume`: continues a run by id.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a run: only items without a result (or, with --retry-errors-only, with an error).",
        discussion: """
            With --backup (or --backup-dir DIR), a consistent copy of the SQLite database is taken first (see \
            --backup below; skipped for a run that is completed or unknown; a PostgreSQL store is refused: use \
            pg_dump). Then it checks, in order: the run's status (a completed run exits 5), its lock (held by another process: exit 4, \
            naming the holder), the status again, and --source's SHA-256 against the run's (a mismatch exits 3, \
            naming both). With a PostgreSQL --store there is no run lock: this process becomes one more worker, \
            claiming items under leases, and others may join with `work`. The stored configuration is authoritative: a --command, --batch-size, --batch-seconds or \
            --item-timeout that differs is reported as drift and ignored. --jobs may change between sessions. \
            Environment: EXPERIMENT_ID stands for --run-id, RETRY_ERRORS_ONLY=1 for --retry-errors-only; flags win.

            \(DurableExitCode.helpText)
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The run to resume (default: EXPERIMENT_ID from the environment).")
    var runID: String?

    @Flag(help: "Resume the latest run that is not completed (every run completed: exit 5; no run at all: exit 1).")
    var latest = false

    @Option(help: "The source file, checked against the run's SHA-256 (the items come from the database).")
    var source: String?

    @Flag(inversion: .prefixedNo, help: "Redo only items whose result is an error (default: RETRY_ERRORS_ONLY=1 in the environment).")
    var retryErrorsOnly: Bool?

    @OptionGroup var configurationOptions: ConfigurationOptions
    @OptionGroup var session: SessionOptions
    @OptionGroup(title: "Backup") var backup: BackupOptions

    @Flag(help: "Print one JSON summary (schema 1) at the end; stdout then holds only that object (`run <ID>` goes to stderr).")
    var json = false

    func validate() throws {
        if latest && runID != nil { throw ValidationError("give --run-id or --latest, not both") }
        if !latest && runID == nil && Environment.value("EXPERIMENT_ID") == nil {
            throw ValidationError("give --run-id ID or --latest (or set EXPERIMENT_ID)")
        }
        if backup.isRequested && database.isPostgres { throw ValidationError(BackupOptions.postgresRefusal) }
    }

    func run() async throws {
        try await database.runSession(
            "durable-resume resume", options: session, json: json,
            before: {
                if backup.isRequested, let reason = try await Self.nothingToContinue(database: database, runID: latest ? nil : runID ?? Environment.value("EXPERIMENT_ID")) {
                    note("backup: skipped, \(reason)")  // a no-op resume must not rotate out the backups that matter
                } else {
                    try await database.backUp(backup, reserve: session.guardrails.resources)
                }
            }
        ) { opened, session in
            let id: String
            if latest {
                guard let run = try await opened.store.latestResumableRun() else {
                    throw try await nothingResumable(in: opened.store)
                }
                id = run.id
            } else {
                id = runID ?? Environment.value("EXPERIMENT_ID")!
            }
            let selection: WorkSelection = retryErrorsOnly ?? Environment.flag("RETRY_ERRORS_ONLY") ? .retryErrorsOnly : .missingOnly
            return try await Self.resume(
                opened: opened, runID: id,
                request: .init(selection: selection, sourceFile: source, given: configurationOptions.overrides),
                session: session)
        }
    }

    /// Why `--latest` found nothing to resume: every run is completed (`alreadyCompleted`, exit 5, as for
    /// `--run-id` of a completed run), or there is no run at all (`runNotFound`, exit 1).
    func nothingResumable(in store: any RunStore) async throws -> DurableRunStoreError {
        let runs = try await store.runs()
        guard let latest = runs.first else {
            return DurableRunStoreError(
                .runNotFound, operation: "resume", message: "there are no runs in \(database.display)",
                hint: "Start one with durable-resume start \(database.argument) and the source's --source, --id and --command.")
        }
        return DurableRunStoreError(
            .alreadyCompleted, operation: "resume",
            message: "every run in \(database.display) is completed (\(runs.count) of \(runs.count); the latest is \(latest.id)): there is nothing to resume",
            hint: "Start a new run to process the items again; list the runs with: durable-resume list \(database.argument)")
    }

    /// Why a resume of `runID` (`nil`: `--latest`) will not continue anything — the run is completed or does not
    /// exist — or `nil` when it will; read without writing (`--backup` is skipped then).
    static func nothingToContinue(database: DatabaseOptions, runID: String?) async throws -> String? {
        guard let file = database.databaseFile, FileManager.default.fileExists(atPath: file.string) else { return nil }
        do {
            return try await database.using(readOnly: true) { opened in
                if let runID {
                    guard let run = try await opened.store.run(id: runID) else { return "no run has the id \(runID)" }
                    return run.status == .completed ? "run \(runID) is already completed" : nil
                }
                return try await opened.store.latestResumableRun() == nil ? "no run is resumable" : nil
            }
        } catch { throw fail(error) }
    }

    /// Resumes `runID`, printing `run <ID>` once the checks passed (and, on SQLite, the lock is held).
    static func resume(
        opened: OpenedRunStore, runID: String, request: ResumableRunner.ResumeRequest, session: Session
    ) async throws -> ExitCode {
        try await session.run(closing: opened) { options in
            try await opened.resume(
                runID: runID, request: request, options: options, announce: { session.announce($0) },
                makeProcess: session.process(for:))
        }
    }
}
