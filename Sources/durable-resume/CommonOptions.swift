import ArgumentParser
import DurableCLI
import DurableIO
import DurablePostgres
import DurableRunStore
import Foundation

/// How a session runs: concurrency, progress, signals.
struct SessionOptions: ParsableArguments {
    @Option(help: "Items processed at once (1 to 4096).", transform: NumericArgument.count(in: 1...4096))
    var jobs: Int = 1

    @Option(help: "Seconds items in flight may take to finish after SIGINT/SIGTERM before they are killed.", transform: NumericArgument.seconds())
    var grace: Double = 30

    @Option(help: "Seconds between progress lines when stderr is not a terminal.", transform: NumericArgument.seconds())
    var progressInterval: Double = 60

    @Flag(help: "No progress display.")
    var quiet = false

    @Option(help: "PostgreSQL store: seconds a claimed item's lease lasts without renewal (renewed every third of it).", transform: NumericArgument.seconds(in: 0.3...86_400))
    var lease: Double = 30

    @Option(help: "PostgreSQL store: items claimed at once (default: twice --jobs).", transform: NumericArgument.count(in: 1...1_000_000))
    var claimSize: Int?

    @Option(help: "Stop starting items once more than N items (or N% of the pending ones) failed: the finished ones are committed, the run stays running, exit 1.", transform: FailureBudgetArgument.parse)
    var maxFailures: FailureBudgetArgument?

    @OptionGroup(title: "Guardrails") var guardrails: GuardrailOptions

    @OptionGroup(title: "Retries") var retries: RetryOptions

    @OptionGroup(title: "Alerts and logs") var exitHook: ExitHookOptions

    @OptionGroup(title: "Alerts and logs") var runLog: RunLogOptions

    @OptionGroup(title: "Metrics") var metrics: MetricsOptions

    /// `--jobs`, or fewer when the descriptor limit (`ulimit -n`) cannot hold that many item commands at once —
    /// past it, pipes fail with `EMFILE` and an item command is left unreaped — with a note on stderr that says so.
    func jobsWithinDescriptorLimit() -> Int {
        let budget = DescriptorBudget.jobs(requested: jobs)
        if let note = budget.note { ProgressRenderer.standardError("note: \(note)\n") }
        return budget.jobs
    }

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard lease >= 0.3 else { throw ValidationError("--lease must be at least 0.3 seconds") }
        if let claimSize, claimSize < 1 { throw ValidationError("--claim-size must be at least 1") }
    }
}

/// The configuration options of `start` (and, on `resume`, compared with the stored ones).
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "The per-item command (sh -c): reads the item's JSON on stdin, prints the result's JSON on stdout. `{}` is replaced by the item's id, shell-quoted.")
    var command: String?

    @Option(help: "Results per commit (default 100).", transform: NumericArgument.count(in: 1...1_000_000))
    var batchSize: Int?

    @Option(help: "Longest seconds a finished result waits for its commit (default 5).", transform: NumericArgument.seconds())
    var batchSeconds: Double?

    @Option(help: "Seconds one item's command may run before it is killed (default: no limit).", transform: NumericArgument.seconds())
    var itemTimeout: Double?

    var overrides: RunConfiguration.Overrides {
        .init(command: command, batchSize: batchSize, batchSeconds: batchSeconds, itemTimeoutSeconds: itemTimeout)
    }
}

/// The environment variables of the spec (flags win).
enum Environment {
    static func flag(_ name: String) -> Bool {
        ProcessInfo.processInfo.environment[name].map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false
    }

    static func value(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Writes a line to standard error.
func note(_ text: String) { ProgressRenderer.standardError(text + "\n") }

/// Writes a line to standard output and flushes it at once (scripts wait for it on a pipe).
func say(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 { if errno == EINTR { continue } else { return } }
            offset += n
        }
    }
}

/// Prints the error through DurableCLI's `ErrorReport` (its hint on the next line, a database password redacted)
/// and returns the exit code of its failure class: 5 for a completed run, 3 for a checksum mismatch (fail closed),
/// 4 for a held lock, 1 otherwise.
func fail(_ error: any Error) -> ExitCode {
    if let exit = error as? ExitCode { return exit }
    return ExitCode(ErrorReport.print(error, redacting: PostgresLocation.redact).rawValue)
}
