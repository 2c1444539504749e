import ArgumentParser
import DurableCLI
import DurableIO
import DurableRun
import DurableRunStore
import DurableStores
import Foundation
import Logging
import Synchronization

/// What `start` and `resume` share: signals, progress, the per-item command, and the report at the end.
struct Session {
    /// How hints name the store: `--db FILE` or `--store URL` (password redacted).
    let storeArgument: String
    let options: SessionOptions
    /// The SQLite database file, whose disk `--min-free-disk` watches; `nil` for a PostgreSQL store.
    let databaseFile: FilePath?
    let json: Bool
    /// The run's own log (`--log-dir`), named by the run's id once it is known.
    let log: RunLog?
    let stop = StopRequest()
    /// The `--metrics-file`, once the session runs.
    let metrics = MetricsSlot()

    /// The session's options for whichever runner the store takes: jobs, stop, progress, notices, lease, claim size.
    func storeOptions(renderer: ProgressRenderer) -> OpenedRunStore.Options {
        var logger = Logger(label: "durable-resume", factory: StandardErrorLogHandler.init)
        logger.logLevel = .warning  // the command prints its own summary; the library's info lines would repeat it
        if let log { logger = log.logger(alongside: logger) }
        var storeOptions = OpenedRunStore.Options(
            jobs: options.jobsWithinDescriptorLimit(), stop: stop,
            progress: { [metrics] in
                metrics.file?.observe($0)
                renderer.update($0)
            },
            notice: { note($0) },
            logger: logger, lease: options.lease.duration, claimSize: options.claimSize,
            limits: options.guardrails.limits(diskHolding: databaseFile))
        storeOptions.retry = options.retries.policy
        storeOptions.failureBudget = options.maxFailures?.budget
        return storeOptions
    }

    func renderer() -> ProgressRenderer {
        ProgressRenderer(style: options.quiet ? .quiet : .automatic, plainInterval: options.progressInterval.duration)
    }

    /// The per-item command: the item's JSON on stdin, `{}` replaced by its id; failures keep their status and the
    /// tail of stderr, and are transient (retried with `--retries`) for an exit status in `--retry-exit-codes` or a
    /// timeout.
    func process(for configuration: RunConfiguration) -> ResumableRunner.Process {
        let transient = options.retries.transientExitCodes
        let command = ItemCommand(
            configuration.command,
            timeout: configuration.itemTimeoutSeconds.map { .milliseconds(Int64($0 * 1000)) })
        let metrics = self.metrics
        return { item in
            do {
                guard let file = metrics.file else {
                    return try await command.run(argument: item.key, standardInput: Array((item.json + "\n").utf8))
                }
                return try await file.counting(item.key) {  // running and retried, for the metrics file
                    try await command.run(argument: item.key, standardInput: Array((item.json + "\n").utf8))
                }
            } catch let failure as ItemCommandFailure {
                let timedOut = if case .timedOut = failure.reason { true } else { false }
                throw ItemFailure(
                    message: failure.description, category: timedOut ? "timeout" : "command",
                    isTransient: failure.isTransient(exitCodes: transient))
            }
        }
    }

    /// SIGINT/SIGTERM/SIGHUP handling for a session, with the `--grace` the options give.
    func installSignals() -> SignalHandler {
        SignalHandler.install(stop: stop, grace: options.grace.duration)
    }

    /// Prints `run <ID>` once the run is known: on stdout for a script to read at once, or on stderr under `--json`,
    /// whose stdout is one JSON object alone (`jq` reads it).
    func announce(_ run: RunRecord) {
        metrics.file?.setRunID(run.id)
        metrics.file?.setKnown(total: run.totalItems, done: run.completedCount)
        if json { note("run \(run.id)") } else { say("run \(run.id)") }
        if let log {
            log.name(run.id)
            let c = run.configuration
            log.logger(label: "durable-resume").info(
                "session started", metadata: [
                    "run": "\(run.id)", "store": "\(storeArgument)", "command": "\(c.command)", "batch_size": "\(c.batchSize)",
                    "jobs": "\(options.jobs)", "retries": "\(options.retries.retries)", "pid": "\(getpid())",
                    "items": "\(run.totalItems)", "done": "\(run.completedCount)", "failed": "\(run.failedCount)",
                ])
        }
    }

    /// `39,990 of 42,000 items succeeded, 10 failed, 2,000 not done`.
    static func counts(of run: RunRecord) -> String {
        "\(run.completedCount) of \(run.totalItems) items succeeded, \(run.failedCount) failed, \(run.missingCount) not done"
    }

    /// Runs `body` with signals handled, closes `store` (a failed sync or close throws: nothing is reported as
    /// success before the last sync returned), then reports the outcome and returns the exit code.
    func run(
        closing store: OpenedRunStore, _ body: (OpenedRunStore.Options) async throws -> OpenedRunStore.Outcome
    ) async throws -> ExitCode {
        let signals = installSignals()
        defer { signals.uninstall() }
        let progress = self.renderer()
        let location = databaseFile.map { MetricsOptions.absolute($0.string) } ?? String(storeArgument.drop { $0 != " " }.dropFirst())
        let metricsFile = options.metrics.file(output: location)  // the SQLite file, or the URL with its password redacted
        try metricsFile?.start()
        metrics.set(metricsFile)
        defer { metricsFile?.finish() }
        let outcome = try await body(storeOptions(renderer: progress))
        // The store's last syncs (checkpoint, close) come before any word of success.
        try await store.close()
        switch outcome {
        case .run(let outcome): return try report(outcome, summary: Summary(progress: progress))
        case .worker(let outcome): return try report(outcome, summary: Summary(progress: progress))
        }
    }

    /// Reports a locked store's session and returns its exit code: 0 completed, 1 failed, 130/143/129 stopped.
    func report(_ outcome: RunOutcome, summary renderer: Summary) throws -> ExitCode {
        let run = outcome.run
        let counts = Self.counts(of: run)
        let session = "this session: \(outcome.processed) processed (\(outcome.succeeded) ok, \(outcome.failed) errors) in \(String(format: "%.1f", outcome.seconds)) s"
        try JSONOutput.summary(OutcomeJSON(outcome), printing: json)
        if let reason = outcome.stoppedBy {
            renderer.finish("stopped by \(reason): \(counts); \(session); every finished result is committed")
            note("resume with: durable-resume resume \(storeArgument) --run-id \(run.id)")
            return ExitCode(DurableExitCode(stoppedBy: reason).rawValue)
        }
        switch run.status {
        case .completed:
            renderer.finish("run \(run.id) completed: \(counts); \(session)")
            return .success
        case .failed, .running:
            renderer.finish("run \(run.id) failed: \(counts); \(session)")
            if let common = outcome.failures.summary() { note("  \(common)") }
            let retry = run.failedCount > 0 ? " --retry-errors-only" : ""
            note("resume with: durable-resume resume \(storeArgument) --run-id \(run.id)\(retry)")
            return ExitCode(DurableExitCode.failure.rawValue)
        }
    }
}

/// Ends the progress display with the summary line — on stderr even with `--quiet`, which silences progress only.
struct Summary {
    let progress: ProgressRenderer

    func finish(_ line: String) {
        progress.conclude(line)
    }
}

/// The `--json` summary of a session.
struct OutcomeJSON: Encodable {
    var run: RunJSON
    var skipped: Int
    var processed: Int
    var succeeded: Int
    var failed: Int
    var abandoned: Int
    var seconds: Double
    @JSONNullable var stoppedBy: String?

    init(_ outcome: RunOutcome) {
        run = RunJSON(outcome.run, state: outcome.stoppedBy == nil ? nil : .interrupted)
        skipped = outcome.skipped
        processed = outcome.processed
        succeeded = outcome.succeeded
        failed = outcome.failed
        abandoned = outcome.abandoned
        seconds = outcome.seconds
        stoppedBy = outcome.stoppedBy.map { "\($0)" }
    }

    enum CodingKeys: String, CodingKey {
        case run, skipped, processed, succeeded, failed, abandoned, seconds
        case stoppedBy = "stopped_by"
    }
}

/// The session's `--metrics-file` (`nil` without one): set when the session starts running, read by its progress
/// callback, its item commands and its announcement of the run id.
final class MetricsSlot: Sendable {
    private let value = Mutex<MetricsFile?>(nil)

    var file: MetricsFile? { value.withLock { $0 } }

    func set(_ file: MetricsFile?) { value.withLock { $0 = file } }
}
