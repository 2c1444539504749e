import ArgumentParser
import DurableCLI
import DurableIO
import DurableRun

/// `durable-extract status`: where a run stands, without changing anything.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show done, staged, failed and pending counts, the running process (if any) and the last heartbeat.",
        discussion: "Reads without locking: while a run is going, the figures may move.\n\n\(DurableExitCode.helpText)")

    @OptionGroup var output: OutputOption
    @OptionGroup var inputs: InputOptions

    @Flag(help: "Print one JSON object on stdout (schema 1).")
    var json = false

    func run() throws {
        do {
            let status = try output.run().status(inputs: inputs.isGiven ? try inputs.load().keys : nil)
            if json { try JSONOutput.print(status) } else { print(status) }
        } catch {
            throw ExitCode(ErrorReport.print(error).rawValue)
        }
    }
}
