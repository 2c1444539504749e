import ArgumentParser
import DurableCLI
import DurableSQLite

/// `durable-backfill`: run an `UPDATE` over a live SQLite database in short batches that never starve readers,
/// always terminate, survive `kill -9`, and record their status honestly.
@main
struct DurableBackfill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-backfill",
        abstract: "Run an UPDATE over a live SQLite database in short, resumable batches.",
        discussion: """
            Each batch is one short BEGIN IMMEDIATE transaction over the next keys after a cursor, bounded in rows and \
            in key range, and writes its progress into the table _durable_backfills of the same database in the same \
            transaction. Rows inserted after the start (keys above the recorded bound) are out of scope. The result \
            equals the one-shot UPDATE only when the SET expression depends on the row and on data the backfill does \
            not change. See Documentation/Backfill.md.

            SIGINT / SIGTERM: the current batch finishes, the backfill is recorded as interrupted, and the command \
            exits 130 / 143; `resume` continues it.

            \(DurableExitCode.helpText)
            """,
        version: DurableVersion.current,
        subcommands: [RunCommand.self, ResumeCommand.self, StatusCommand.self, ListCommand.self])
}
