import ArgumentParser
import DurableCLI
import DurableIO
import DurableRunStore
import DurableStores
import Foundation

/// `durable-resume status`: one run's progress, ETA and state.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a run's state (running, interrupted, failed, completed), progress and ETA.",
        discussion: """
            SQLite: a run whose status is `running` but whose lock no process holds is shown as `interrupted`: resume \
            it. PostgreSQL: `running` while a worker's heartbeat is live; the workers are listed, live ones first, with \
            host, pid, last heartbeat and their claimed / recorded / refused counts.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The run (default: the latest).")
    var runID: String?

    @Flag(help: "Print one JSON object (schema 1; every key present, null when unknown; see Documentation/JSON.md).")
    var json = false

    func run() async throws {
        do {
            let found = try await database.using(readOnly: true) { opened in try await opened.status(ofRun: runID) }
            guard let status = found else {
                throw DurableRunStoreError(
                    .runNotFound, operation: "status",
                    message: runID.map { "no run has the id \($0)" } ?? "there are no runs in \(database.display)")
            }
            let (run, state, holder, workers, refused) = (status.run, status.state, status.holder, status.workers, status.refused)
            if json {
                var object = RunJSON(run, state: state)
                object.holder = holder
                object.workers = workers?.map(WorkerJSON.init)
                object.refused = refused
                try JSONOutput.print(object)
                return
            }
            for line in Self.lines(run, state: state, holder: holder, store: database.argument) { say(line) }
            if let estimate = spaceEstimate(run) { say("  disk: \(estimate)") }
            if let refused, refused > 0 {
                say("  refused: \(refused) results arrived after their lease expired (the items were redone; each is recorded once)")
            }
            if let workers {
                say("  workers: \(workers.filter(\.isLive).count) live, \(workers.filter { !$0.isLive }.count) gone")
                for w in workers { say("    " + WorkerJSON(w).line) }
            }
        } catch { throw fail(error, store: database) }
    }

    /// The disk a SQLite run still needs: the database's bytes (with its WAL) over the run's results so far × the
    /// items not done — an overestimate when the database holds other runs or a large source. `nil` on PostgreSQL,
    /// when nothing is left, or before any result.
    func spaceEstimate(_ run: RunRecord) -> SpaceEstimate? {
        guard let file = database.databaseFile, run.missingCount > 0 else { return nil }
        let fileSystem = RealFileSystem()
        let bytes = [file.string, file.string + "-wal"].reduce(Int64(0)) { sum, path in
            sum + ((try? fileSystem.stat(FilePath(path), followSymlinks: true).size) ?? 0)
        }
        return SpaceEstimate(
            bytesSoFar: bytes, itemsSoFar: run.completedCount + run.failedCount, pendingItems: run.missingCount,
            freeBytes: try? fileSystem.availableSpace(at: DiskReserve.directory(holding: file)))
    }

    static func lines(_ run: RunRecord, state: RunState, holder: String?, store: String) -> [String] {
        let done = run.completedCount + run.failedCount
        let percent = run.totalItems > 0 ? Double(done) / Double(run.totalItems) * 100 : 100
        var lines = ["run \(run.id)\(run.name.map { " (\($0))" } ?? "") — \(state)"]
        switch state {
        case .live: lines.append("  held by \(holder ?? "a live process")")
        case .interrupted: lines.append("  no process is working on it (killed or crashed): resume it with `durable-resume resume \(store) --run-id \(ShellWord.quoted(run.id))`")
        case .failed: lines.append("  finished with errors: `durable-resume resume \(store) --run-id \(ShellWord.quoted(run.id))\(run.failedCount > 0 ? " --retry-errors-only" : "")`")
        case .completed: break
        }
        lines.append("  source: \(run.sourceName) v\(run.sourceVersion), sha256 \(run.sourceChecksum)")
        lines.append("  progress: \(done) / \(run.totalItems) (\(String(format: "%.1f", percent)) %) · \(run.completedCount) succeeded · \(run.failedCount) failed · \(run.missingCount) not done")
        let time = { (date: Date?) in date.map { $0.formatted(Date.ISO8601FormatStyle()) } ?? "–" }
        // An ETA means something only while a process works on the run.
        let eta = state == .live ? time(run.estimatedCompletionAt) : "–"
        lines.append("  started \(time(run.startedAt)) · last progress \(time(run.lastProgressAt)) · ETA \(eta) · finished \(time(run.finishedAt))")
        if let m = run.finalMetrics {
            lines.append("  final: \(m.succeeded) succeeded, \(m.failed) failed, \(m.missing) missing, \(m.attempts) attempts; last session \(m.sessionItems) items in \(String(format: "%.1f", m.sessionSeconds)) s (\(String(format: "%.1f", m.itemsPerSecond))/s)")
        }
        lines.append("  command: \(run.configuration.command) · batch \(run.configuration.batchSize) items / \(run.configuration.batchSeconds) s")
        return lines
    }
}

/// A run as `--json` prints it (`status`, `list`, and the `run` of `start`, `resume` and `work`): every key in every
/// state, `null` when unknown; `holder`, `workers` and `refused` are `status`'s alone (`null` elsewhere).
struct RunJSON: Encodable {
    var id: String
    @JSONNullable var name: String?
    var status: String
    var state: String
    @JSONNullable var holder: String? = nil
    @JSONNullable var workers: [WorkerJSON]? = nil
    @JSONNullable var refused: Int? = nil
    var source: String
    var sourceVersion: Int
    var sourceSHA256: String
    var total: Int
    var completed: Int
    var failed: Int
    var missing: Int
    var startedAt: String
    @JSONNullable var lastProgressAt: String?
    @JSONNullable var estimatedCompletionAt: String?
    @JSONNullable var finishedAt: String?
    @JSONNullable var finalMetrics: RunMetrics?
    var configuration: ConfigurationJSON

    init(_ run: RunRecord, state: RunState?) {
        let time = { (date: Date) in date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }
        id = run.id
        name = run.name
        status = run.status.rawValue
        self.state = (state ?? RunState(rawValue: run.status.rawValue) ?? .live).rawValue
        source = run.sourceName
        sourceVersion = run.sourceVersion
        sourceSHA256 = run.sourceChecksum
        total = run.totalItems
        completed = run.completedCount
        failed = run.failedCount
        missing = run.missingCount
        startedAt = time(run.startedAt)
        lastProgressAt = run.lastProgressAt.map(time)
        estimatedCompletionAt = run.estimatedCompletionAt.map(time)
        finishedAt = run.finishedAt.map(time)
        finalMetrics = run.finalMetrics
        configuration = ConfigurationJSON(run.configuration)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, status, state, holder, workers, refused, source, total, completed, failed, missing, configuration
        case sourceVersion = "source_version", sourceSHA256 = "source_sha256", startedAt = "started_at"
        case lastProgressAt = "last_progress_at", estimatedCompletionAt = "estimated_completion_at"
        case finishedAt = "finished_at", finalMetrics = "final_metrics"
    }
}

/// A run's configuration as `--json` prints it: `item_timeout_seconds` is `null` for no limit (the stored canonical
/// JSON leaves it out, and keeps doing so: two equal configurations stay equal bytes).
struct ConfigurationJSON: Encodable {
    var command: String
    var batchSize: Int
    var batchSeconds: Double
    @JSONNullable var itemTimeoutSeconds: Double?

    init(_ configuration: RunConfiguration) {
        command = configuration.command
        batchSize = configuration.batchSize
        batchSeconds = configuration.batchSeconds
        itemTimeoutSeconds = configuration.itemTimeoutSeconds
    }
}
