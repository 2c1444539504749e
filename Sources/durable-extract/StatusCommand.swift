import ArgumentParser
import DurableCLI
import DurableIO
import DurableRun

/// `durable-extract status`: where a run stands, without changing anything.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show done, staged, failed and pending counts, the running process (if any) and the last heartbeat.",
        discussion: """
            Reads without locking: while a run is going, the figures may move. When keys the ledger lists have no \
            row in the output or staging, says so as `verify` does, with the repair command, and exits 3. On an \
            output where nothing has run, creates nothing and exits 1.

            \(DurableExitCode.helpText)
            """)

    @OptionGroup var output: OutputOption
    @OptionGroup var inputs: InputOptions

    @Flag(help: "Print one JSON object on stdout (schema 2, snake_case keys, every key present; see Documentation/JSON.md).")
    var json = false

    func run() throws {
        do {
            let run = output.run()
            let status = try run.status(inputs: inputs.isGiven ? try inputs.load().excludingState(of: run).keys : nil)
            if json { try JSONOutput.print(StatusJSON(status), schema: 2) } else { print(status) }
            if let shortfall = status.shortfall { throw ExitCode(ErrorReport.print(shortfall).rawValue) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw ExitCode(ErrorReport.print(error).rawValue)
        }
    }
}

/// `status --json`: every key in every state (`null` when unknown: `pending` without `--inputs`, `holder` when no
/// run holds the lock, `last_heartbeat` before the first beat).
struct StatusJSON: Encodable {
    var done: Int
    var outputRows: Int
    var staged: Int
    var failed: Int
    @JSONNullable var pending: Int?
    @JSONNullable var holder: LockOwnerJSON?
    @JSONNullable var lockHolder: LockHolderJSON?
    @JSONNullable var lastHeartbeat: HeartbeatJSON?
    var damagedLines: Int
    var missing: Int
    @JSONNullable var spaceNeededBytes: Int64?
    @JSONNullable var freeBytes: Int64?

    init(_ status: CheckpointedRun.Status) {
        done = status.done
        outputRows = status.outputRows
        staged = status.staged
        failed = status.failed
        pending = status.pending
        holder = status.holder.map(LockOwnerJSON.init)
        lockHolder = status.lockHolder.map(LockHolderJSON.init)
        lastHeartbeat = status.lastHeartbeat.map(HeartbeatJSON.init)
        damagedLines = status.damagedLines
        missing = status.missing
        spaceNeededBytes = status.spaceNeeded?.neededBytes
        freeBytes = status.spaceNeeded?.freeBytes
    }
}
