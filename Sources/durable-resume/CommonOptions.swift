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

    @Option(help: "After SIGINT/SIGTERM, how long items in flight may take to finish before they are killed (default 30s).", transform: DurationArgument.parse)
    var grace: DurationArgument = "30s"

    @Option(help: "Time between progress lines when stderr is not a terminal (default 60s).", transform: DurationArgument.parse)
    var progressInterval: DurationArgument = "60s"

    @OptionGroup var quietOption: QuietOption
    var quiet: Bool { quietOption.quiet }

    @Option(help: "PostgreSQL store: how long a claimed item's lease lasts without renewal, from 300ms to 24h (renewed every third of it; default 30s).", transform: DurationArgument.parse(in: .milliseconds(300) ... .seconds(86_400)))
    var lease: DurationArgument = "30s"

    @Option(help: "PostgreSQL store: items claimed at once (default: twice --jobs).", transform: NumericArgument.count(in: 1...1_000_000))
    var claimSize: Int?

    @Option(help: "Stop starting items once more than N items (or N% of all the run's items, done ones included) failed in this session: the finished ones are committed, the run stays running, exit 1.", transform: FailureBudgetArgument.parse)
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
        if let claimSize, claimSize < 1 { throw ValidationError("--claim-size must be at least 1") }
    }
}

/// The configuration options of `start` (and, on `resume`, compared with the stored ones).
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "The per-item command (sh -c): reads the item's JSON on stdin, prints the result's JSON on stdout. `{}` is replaced by the item's id, shell-quoted; `{{}}` by a literal `{}`.")
    var command: String?

    @Option(help: "Results per commit (default 100).", transform: NumericArgument.count(in: 1...1_000_000))
    var batchSize: Int?

    @Option(help: "The longest a finished result waits for its commit (default 5s).", transform: DurationArgument.parse)
    var batchSeconds: DurationArgument?

    @Option(help: "How long one item's command may run before it is killed (default: no limit).", transform: DurationArgument.parse)
    var itemTimeout: DurationArgument?

    var overrides: RunConfiguration.Overrides {
        .init(
            command: command, batchSize: batchSize, batchSeconds: batchSeconds?.duration.seconds,
            itemTimeoutSeconds: itemTimeout?.duration.seconds)
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
/// 4 for a held lock, 1 otherwise. With `store`, a library hint's placeholder (`--db FILE`, `--store URL`) becomes
/// the store's real option, so the hint works when pasted.
func fail(_ error: any Error, store: DatabaseOptions? = nil) -> ExitCode {
    if let exit = error as? ExitCode { return exit }
    var error = error
    if let store, var storeError = error as? DurableRunStoreError, let hint = storeError.hint {
        storeError.hint = hint.replacingOccurrences(of: "--db FILE", with: store.argument)
            .replacingOccurrences(of: "--store URL", with: store.argument)
        error = storeError
    }
    return ExitCode(ErrorReport.print(error, redacting: PostgresLocation.redact).rawValue)
}
