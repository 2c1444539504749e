import ArgumentParser
import DurableCLI
import DurableSQLite
import Foundation

/// `durable-backfill list`: one line per recorded backfill.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the backfills recorded in a database, one per line.",
        discussion: DurableExitCode.helpText)

    @Option(help: "The SQLite database file.")
    var db: String
    @Flag(help: "One JSON object on standard output, {\"backfills\":[…],\"schema\":2}: the shape of `status --json` (see Documentation/JSON.md).")
    var json = false

    func run() throws {
        do {
            let records = try Backfill.list(in: db)
            if json { return try JSONOutput.print(BackfillsJSON(backfills: records.map(BackfillJSON.init)), schema: 2) }
            for record in records {
                let percent = record.fraction.map { String(format: "%5.1f %%", $0 * 100) } ?? "    – "
                say("\(record.definition.name)\t\(record.status.rawValue)\t\(percent)\t\(record.examinedRows) examined\t\(record.changedRows) changed\tupdated \(record.updatedAt)")
            }
        } catch let error as DurableSQLiteError {
            throw ExitCode(ErrorReport.print(error).rawValue)
        }
    }
}
