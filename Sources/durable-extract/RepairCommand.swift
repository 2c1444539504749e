import ArgumentParser
import DurableCLI
import DurableIO
import DurableRun

/// `durable-extract repair`: the operator's explicit recovery from a loss.
struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Drop from the ledger the keys whose rows are missing, so the next run extracts them again.",
        discussion: """
            Rewrites OUT.done atomically without the keys whose rows are in neither the output nor staging, and \
            prints every key it drops. Never done automatically: run it after `verify` (or `run`) exits 3 and you \
            have looked at why the rows are missing. Refused (exit 4) while a run holds the lock.

            \(DurableExitCode.helpText)
            """)

    @OptionGroup var output: OutputOption

    @Flag(help: "Only print what would be dropped.")
    var dryRun = false

    @Flag(help: "Print one JSON object on stdout (schema 2, snake_case keys) instead of the key list.")
    var json = false

    func run() throws {
        do {
            let report = try output.run().repair(dryRun: dryRun)
            if json {
                try JSONOutput.print(report, schema: 2)
                return
            }
            for key in report.dropped { print(key) }
            let verb = dryRun ? "would drop" : "dropped"
            let next = report.dropped.isEmpty ? "nothing to repair" : dryRun ? "rerun without --dry-run to apply" : "run again to re-extract them"
            ProgressRenderer.standardError(
                "\(verb) \(report.dropped.count.formatted) of \(report.ledgerKeys.formatted) ledger keys whose rows are missing; \(next)\n")
        } catch {
            throw ExitCode(ErrorReport.print(error).rawValue)
        }
    }
}
