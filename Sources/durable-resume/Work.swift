import ArgumentParser
import DurableCLI
import DurableRunStore
import DurableStores

/// `durable-resume work`: joins a running run on a PostgreSQL store as one more worker.
struct Work: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join a running run on a PostgreSQL store as one more worker (any host).",
        discussion: """
            The worker claims a few items at a time under a lease (--lease, e.g. 30s, renewed every third of it), runs \
            the run's stored command on each, and records a result only while it still holds the item's lease. A \
            worker that dies (kill -9, a lost host) stops renewing: after its leases expire other workers take its \
            items. An item may be attempted more than once; it is recorded once. When nothing is left, the last \
            worker finalizes the run. SIGINT/SIGTERM: no new claims, in-flight items finish within --grace, results \
            are committed and unstarted claims released.

            \(DurableExitCode.helpText)
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The run to join (default: EXPERIMENT_ID from the environment).")
    var runID: String?

    @OptionGroup var session: SessionOptions

    @Flag(help: "Print one JSON summary (schema 1) at the end; stdout then holds only that object (`run <ID>` goes to stderr).")
    var json = false

    func validate() throws {
        if runID == nil && Environment.value("EXPERIMENT_ID") == nil { throw ValidationError("give --run-id ID (or set EXPERIMENT_ID)") }
        if !database.isPostgres {
            throw ValidationError("`work` needs a PostgreSQL store (--store postgres://…): a SQLite run has one process, use `resume`")
        }
    }

    func run() async throws {
        try await database.runSession("durable-resume work", options: session, json: json) { opened, session in
            let id = runID ?? Environment.value("EXPERIMENT_ID")!
            return try await session.run(closing: opened) { options in
                .worker(try await opened.work(
                    runID: id, options: options, announce: { session.announce($0) }, makeProcess: session.process(for:)))
            }
        }
    }
}
