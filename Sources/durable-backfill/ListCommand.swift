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

    func run() throws {
        do {
            for record in try Backfill.list(in: db) {
                let percent = record.fraction.map { String(format: "%5.1f %%", $0 * 100) } ?? "    – "
                say("\(record.definition.name)\t\(record.status.rawValue)\t\(percent)\t\(record.examinedRows) examined\t\(record.changedRows) changed\tupdated \(record.updatedAt)")
            }
        } catch let error as DurableSQLiteError {
            throw ExitCode(ErrorReport.print(error).rawValue)
        }
    }
}
