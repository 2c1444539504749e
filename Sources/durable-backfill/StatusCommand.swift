import ArgumentParser
import DurableCLI
import DurableIO
import DurableSQLite
import Foundation

/// `durable-backfill status`: what the database records, corrected for dead processes.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one backfill's recorded status, or every backfill's.",
        discussion: """
            A backfill recorded as running whose process no longer holds its lock (killed, crashed) is shown as \
            interrupted; an interrupted or failed one is followed by the command that continues it. The recorded update time is the backfill's heartbeat: it moves with every batch.

            \(DurableExitCode.helpText)
            """)

    @Option(help: "The SQLite database file.")
    var db: String
    @Option(help: "Only this backfill.")
    var name: String?
    @Flag(help: "One JSON object on standard output, {\"backfills\":[…],\"schema\":2} with or without --name (see Documentation/JSON.md).")
    var json = false

    /// A record, and for one that stopped short (interrupted, failed) the command that continues it.
    func show(_ record: BackfillRecord) {
        say("\(record)")
        if record.status == .interrupted || record.status == .failed {
            say("Continue with: \(BackfillPresenter.resumeCommand(database: db, name: record.definition.name))")
        }
    }

    func run() throws {
        do {
            if let name {
                guard let record = try Backfill.status(named: name, in: db) else {
                    ProgressRenderer.standardError("error: no backfill named '\(name)' is recorded in \(db)\n")
                    throw ExitCode(DurableExitCode.failure.rawValue)
                }
                if json { try JSONOutput.print(BackfillsJSON(backfills: [BackfillJSON(record)]), schema: 2) } else { show(record) }
            } else {
                let records = try Backfill.list(in: db)
                if json {
                    try JSONOutput.print(BackfillsJSON(backfills: records.map(BackfillJSON.init)), schema: 2)
                } else if records.isEmpty {
                    say("no backfills recorded in \(db)")
                } else {
                    for record in records { show(record) }
                }
            }
        } catch let error as DurableSQLiteError {
            throw ExitCode(ErrorReport.print(error).rawValue)
        }
    }
}
