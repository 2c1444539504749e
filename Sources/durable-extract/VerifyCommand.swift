import ArgumentParser
import DurableCLI
import DurableIO
import DurableRun

/// `durable-extract verify`: the restart consistency check alone.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every key the ledger lists has its row in the output or staging (exit 3 if not).",
        discussion: """
            Takes the lock shared: refused (exit 4) while a run holds it. On an output where nothing has run, \
            creates nothing and exits 1.

            \(DurableExitCode.helpText)
            """)

    @OptionGroup var output: OutputOption

    @Flag(help: "Print one JSON object on stdout (schema 2, snake_case keys; see Documentation/JSON.md).")
    var json = false

    struct Summary: Encodable {
        var verified: Bool
        var ledgerKeys: Int
        var rowsPresent: Int
        var missing: Int
        @JSONNullable var error: String? = nil
    }

    func run() throws {
        do {
            let result = try output.run().verify()
            if json {
                try JSONOutput.print(Summary(verified: true, ledgerKeys: result.ledgerCount, rowsPresent: result.presentCount, missing: 0), schema: 2)
            } else {
                print("verified: all \(result.ledgerCount.formatted) keys the ledger lists have their row (\(result.presentCount.formatted) rows in output and staging)")
            }
        } catch {
            let code = ErrorReport.print(error)
            if json, let error = error as? DurableIOError {
                let accounting = error.accounting
                try JSONOutput.print(
                    Summary(
                        verified: false, ledgerKeys: accounting?.expected ?? 0, rowsPresent: accounting?.actual ?? 0,
                        missing: accounting?.missingCount ?? 0, error: error.description), schema: 2)
            }
            throw ExitCode(code.rawValue)
        }
    }
}
