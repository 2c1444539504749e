import ArgumentParser
import DurableCLI

/// `durable-extract`: a crash-safe, resumable extraction over many inputs, with a fail-closed restart.
@main
struct DurableExtract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-extract",
        abstract: "Extract one row per input, crash-safe and resumable; never report a loss as success.",
        discussion: """
            State lives beside the output OUT: OUT.done (ledger of keys), OUT.rows.jsonl (staging), \
            OUT.errors.jsonl (failures, retried by the next run), OUT.lock, OUT.heartbeat. After any crash, \
            rerun the same command: it recovers, checks that every key the ledger lists has its row, and resumes.

            \(DurableExitCode.helpText)
            """,
        version: DurableVersion.current,
        subcommands: [RunCommand.self, StatusCommand.self, VerifyCommand.self, RepairCommand.self, DemoCommand.self])
}
