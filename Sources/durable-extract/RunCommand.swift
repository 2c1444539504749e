import ArgumentParser
import DurableCLI
import DurableIO
import DurableRun
import Foundation
import Logging
import Synchronization
import SystemPackage

/// `durable-extract run`: extract every input not yet done, then finalize and verify the output.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Extract every pending input, then write and verify the output.",
        discussion: """
            Each input's row is made by --command (run with sh -c; {} is replaced by the input's path, \
            shell-quoted, and {{}} by a literal {}; it prints one JSON object on stdout) or by --builtin file-stats. A row is durable in \
            staging before its key enters the ledger. Failed items go to OUT.errors.jsonl and are retried by \
            the next run. SIGINT/SIGTERM/SIGHUP: no new items start, running ones get --grace to finish (a \
            second Ctrl-C stops at once), everything acknowledged stays durable; rerun to resume.

            \(DurableExitCode.helpText)
            """)

    enum Builtin: String, ExpressibleByArgument, CaseIterable { case fileStats = "file-stats" }

    @OptionGroup var inputs: InputOptions
    @OptionGroup var output: OutputOption

    @Option(help: "The per-item command, with {} for the input path (shell-quoted; {{}} for a literal {}), e.g. 'ffprobe -of json -show_format {}'.")
    var command: String?

    @Option(help: "A built-in extractor instead of --command: file-stats (size, line count, SHA-256).")
    var builtin: Builtin?

    @Option(help: "Items in flight at once (1 to 4096).", transform: NumericArgument.count(in: 1...4096))
    var jobs: Int = 4

    @OptionGroup(title: "Guardrails") var guardrails: GuardrailOptions

    @OptionGroup(title: "Retries") var retries: RetryOptions

    @OptionGroup(title: "Alerts and logs") var exitHook: ExitHookOptions

    @OptionGroup(title: "Alerts and logs") var runLog: RunLogOptions

    @OptionGroup(title: "Metrics") var metrics: MetricsOptions

    @Option(
        help: "Before saying complete: the output must hold at least N rows, or N% of the inputs' (exit 3 otherwise; nothing is lost, staging is kept).",
        transform: FailureBudgetArgument.parse)
    var expectRows: FailureBudgetArgument?

    @Option(
        name: .customLong("validate"),
        help: "Before saying complete: run this command on the finished output ({} is its path, {{}} a literal {}); a non-zero exit fails the run (exit 3) and keeps staging.")
    var validationCommand: String?

    @Option(help: "Kill an item command running longer than this (its whole process group); it counts as failed.", transform: DurationArgument.parse)
    var itemTimeout: DurationArgument?

    @Option(help: "Progress line and OUT.heartbeat record interval.", transform: DurationArgument.parse)
    var heartbeat: DurationArgument = "60s"

    @Option(help: "Stop starting items once more than N items (or N% of all the run's inputs, done ones included) failed in this run.", transform: FailureBudgetArgument.parse)
    var maxFailures: FailureBudgetArgument?

    @Option(help: "After SIGINT/SIGTERM, how long running items may take before they are killed.", transform: DurationArgument.parse)
    var grace: DurationArgument = "30s"

    @Flag(help: "Print one JSON summary object on stdout (schema 2, snake_case keys, every key present; see Documentation/JSON.md).")
    var json = false

    @OptionGroup var quietOption: QuietOption

    @Flag(help: "Accept a run over zero inputs (an empty directory, or a --glob that matched no file) instead of exiting 1.")
    var allowEmpty = false

    func validate() throws {
        if (command == nil) == (builtin == nil) { throw ValidationError("Give exactly one of --command or --builtin.") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1.") }
    }

    func run() async throws {
        let log = runLog.open()
        try await exitHook.around("durable-extract run", log: log) { try await extractAndReport(log: log) }
    }

    private func extractAndReport(log: RunLog?) async throws {
        let stop = StopRequest()
        let signals = SignalHandler.install(stop: stop, grace: grace.duration)
        defer { signals.uninstall() }
        let renderer = ProgressRenderer(style: quietOption.quiet || json ? .quiet : .automatic, plainInterval: heartbeat.duration)
        let metricsFile = metrics.file(output: MetricsOptions.absolute(output.output), defaultInterval: heartbeat.duration)
        defer { metricsFile?.finish() }
        let announced = Mutex(false)
        var logger = Logger(label: "durable-extract", factory: StandardErrorLogHandler.init)
        logger.logLevel = .notice  // progress is the renderer's; recovery damage and stalls are warnings
        if let log {
            log.name(FilePath(output.output).lastComponent?.string ?? output.output)  // one folder per output
            logger = log.logger(alongside: logger)
            logger.info(
                "started", metadata: [
                    "output": "\(output.output)", "command": "\(command ?? "--builtin \(builtin?.rawValue ?? "")")",
                    "jobs": "\(jobs)", "memory_limit": "\(guardrails.resources.memoryLimit)",
                    "stall_timeout": "\(guardrails.stallTimeout)", "min_free_disk": "\(guardrails.resources.minFreeDisk)",
                    "retries": "\(retries.retries)", "pid": "\(getpid())",
                ])
        }
        let summary: RunSummary
        let budget = DescriptorBudget.jobs(requested: jobs)
        if let note = budget.note { ProgressRenderer.standardError("note: \(note)\n") }
        let limits = guardrails.limits(diskHolding: FilePath(output.output))
        do {
            var options = CheckpointedRun.Options(
                jobs: budget.jobs, failureBudget: maxFailures.map(\.budget), memoryLimit: limits.memoryLimit,
                stallTimeout: limits.stallTimeout,
                heartbeatInterval: heartbeat.duration == .zero ? nil : heartbeat.duration,
                recovery: RecoveryOptions(logger: logger),
                progress: { snapshot in
                    metricsFile?.observe(snapshot)
                    if snapshot.skipped > 0, !announced.withLock({ a in defer { a = true }; return a }) {
                        let total = snapshot.total ?? snapshot.skipped
                        ProgressRenderer.standardError(
                            "resuming: \(snapshot.skipped.formatted) of \(total.formatted) items already done; \((total - snapshot.skipped).formatted) to process\n")
                    }
                    renderer.update(snapshot)
                },
                minimumFreeSpace: limits.diskReserve?.bytes)
            options.expectedRows = expectRows.map {
                switch $0 {
                case .count(let rows): return .atLeast(rows)
                case .fraction(let share): return .fractionOfInputs(share)
                }
            }
            options.validation = validationCommand.map { ValidationCommand($0).check }
            options.retry = retries.policy
            let transient = retries.transientExitCodes
            options.isTransient = { ($0 as? ItemCommandFailure)?.isTransient(exitCodes: transient) ?? false }
            let run = output.run(options: options)
            let inputs = try self.inputs.load().excludingState(of: run)
            if let note = inputs.exclusionNote { ProgressRenderer.standardError("note: \(note)\n") }
            if !allowEmpty { try inputs.requireSome() }
            let extract = try extractor(for: inputs, counting: metricsFile)
            try metricsFile?.start()
            let report = try await run.run(inputs: inputs.keys, stop: stop, extract: extract)
            summary = RunSummary(report)
            renderer.conclude(report.description)
            if !json {
                for line in report.recoveryLines { ProgressRenderer.standardError("  \(line)\n") }
                if report.failed > 0 {
                    ProgressRenderer.standardError(
                        "  \(report.failed.formatted) items failed (see \(run.errorsPath)); rerun the same command to retry them\n")
                    if let common = report.failures.summary() { ProgressRenderer.standardError("  \(common)\n") }
                }
            }
        } catch let error as RunError where error.code == .interrupted {
            let code = DurableExitCode(stoppedBy: error.stopReason ?? .requested("stop"))
            ErrorReport.print(error, code: code)
            summary = RunSummary(error: error, code: code)
        } catch let error as ValidationError {
            throw error
        } catch {
            summary = RunSummary(error: error, code: ErrorReport.print(error))
        }
        try JSONOutput.summary(summary, schema: 2, printing: json)
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }

    private func extractor(for inputs: ExtractionInputs, counting metrics: MetricsFile?) throws -> @Sendable (RecordKey) async throws -> [UInt8] {
        let extract: @Sendable (RecordKey) async throws -> [UInt8]
        if let command {
            let itemCommand = ItemCommand(command, timeout: itemTimeout?.duration)
            extract = { key in try await itemCommand.run(path: inputs.path(for: key)) }
        } else {
            extract = { key in try await FileStats.rowOffPool(for: inputs.path(for: key)) }
        }
        guard let metrics else { return extract }
        return { key in try await metrics.counting("\(key)") { try await extract(key) } }  // running and retried
    }
}

/// The `--json` summary of a run: every key in every state (`null` when unknown — the counts of a run that failed
/// before it finished, the error of one that did not fail).
struct RunSummary: Encodable {
    var status: String
    var exitCode: Int32
    @JSONNullable var inputs: Int? = nil
    @JSONNullable var alreadyDone: Int? = nil
    @JSONNullable var completed: Int? = nil
    @JSONNullable var failed: Int? = nil
    @JSONNullable var rowsVerified: Int? = nil
    @JSONNullable var duplicatesDropped: Int? = nil
    @JSONNullable var error: String? = nil

    init(_ report: RunReport) {
        status = report.failed == 0 ? "complete" : "finished_with_failures"
        exitCode = report.failed == 0 ? 0 : DurableExitCode.failure.rawValue
        inputs = report.inputs
        alreadyDone = report.alreadyDone
        completed = report.completed
        failed = report.failed
        rowsVerified = report.rowsVerified
        duplicatesDropped = report.duplicatesDropped
    }

    init(error: any Error, code: DurableExitCode) {
        status = code == .interrupted || code == .terminated || code == .hangup ? "interrupted" : "failed"
        exitCode = code.rawValue
        self.error = "\(error)"
    }
}
