import ArgumentParser
import DurableCLI

/// `durable-resume`: resumable runs by run id over a SQLite database of source items.
@main
struct DurableResume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-resume",
        abstract: "Run a command over every item of a source, resumably: by run id, from a SQLite database or a PostgreSQL store shared by many workers.",
        discussion: """
            The source (CSV with a header row, or JSONL) is ingested once into the database, with its SHA-256; \
            runs read their items from the database only. Results are committed every --batch-size items or \
            --batch-seconds seconds (with synchronous=FULL: a commit that returned survives a power cut), so a \
            killed run loses at most one batch, and `resume` redoes only what has no result.

            With --store postgres://user@host/db (or DURABLE_STORE) the run lives in PostgreSQL instead: `start` \
            and `resume` become workers, `work` joins a run from any host, and items are shared out under leases \
            (attempted at least once, recorded once). The password is never printed.

            Environment (flags win over the environment):
              RESUME=1             start resumes EXPERIMENT_ID (unless --no-resume)
              EXPERIMENT_ID=ID     the run to resume when --run-id is not given
              RETRY_ERRORS_ONLY=1  retry errored items only (unless --no-retry-errors-only)

            \(DurableExitCode.helpText)
            """,
        version: DurableVersion.current,
        subcommands: [Ingest.self, Start.self, Resume.self, Work.self, Status.self, List.self, Export.self])
}
