import DurableIO
import Foundation
import Prometheus
import Synchronization
import SystemPackage

/// The run's metrics in a file, in the Prometheus text exposition format, rewritten atomically (`AtomicFile`)
/// every interval on a thread of its own and once at the end — the convention of node_exporter's textfile
/// collector (`--collector.textfile.directory`; name the file `*.prom`: the temporary files of a replace are not).
///
/// A process that died stops rewriting the file, and the file then still says what it said last; so beside the
/// counters it carries timestamps an alert compares with the clock: `time() - durable_heartbeat_timestamp_seconds`
/// grows when the process is gone or frozen, `time() - durable_last_progress_timestamp_seconds` when it lives but
/// finishes nothing. Rate and ETA are for the monitoring side to derive from the counters.
///
/// | metric | type | what |
/// | --- | --- | --- |
/// | `durable_items_total{state="done"}` | counter | items done by the run, earlier sessions' included |
/// | `durable_items_total{state="failed"}` | counter | items that failed in this session (past their retries) |
/// | `durable_items_total{state="retried"}` | counter | retries started in this session |
/// | `durable_items_pending` | gauge | items of the run neither done, failed nor running |
/// | `durable_items_running` | gauge | items in flight |
/// | `durable_run_items` | gauge | the run's items in all (0 when unknown) |
/// | `durable_last_progress_timestamp_seconds` | gauge | when an item last finished (the session's start before) |
/// | `durable_heartbeat_timestamp_seconds` | gauge | when the file was written |
/// | `durable_start_timestamp_seconds` | gauge | when this session started |
/// | `durable_memory_bytes` | gauge | resident + swap of the process and of its item commands |
/// | `durable_memory_swap_bytes` | gauge | the swap of the process itself (part of the above) |
///
/// Every series carries the run's identity: `tool`, `subcommand`, `run_id` (empty for an extraction: its output
/// is its identity), `output`. Never the item command: it may carry secrets.
///
/// ```swift
/// let metrics = try MetricsFile(path: "/var/lib/node_exporter/durable.prom", identity: .init(
///     tool: "durable-extract", subcommand: "run", output: "out.jsonl"), interval: .seconds(60))
/// metrics.observe(tracker.snapshot())   // from the progress callback
/// try metrics.start()
/// defer { metrics.finish() }
/// ```
public final class MetricsFile: Sendable {
    /// Who is writing: the labels of every series.
    public struct Identity: Sendable, Equatable {
        /// The executable: `durable-extract`, `durable-resume`, `durable-backfill`.
        public var tool: String
        /// `run`, `start`, `resume`, `work`.
        public var subcommand: String
        /// The run's id (a backfill's name); empty until known, and for an extraction.
        public var runID: String
        /// The output file, the database, or the store's URL with its password redacted.
        public var output: String

        public init(tool: String, subcommand: String, runID: String = "", output: String) {
            self.tool = tool
            self.subcommand = subcommand
            self.runID = runID
            self.output = output
        }

        var labels: [(String, String)] {
            [("tool", tool), ("subcommand", subcommand), ("run_id", runID), ("output", output)]
        }
    }

    private struct State {
        var identity: Identity
        var snapshot: ProgressSnapshot?
        /// The run's size and done count as known before the first snapshot.
        var known: (total: Int, done: Int)?
        var running = 0
        var retried = 0
        var started: [String: Int] = [:]
        var lastProgress: Date
        var lastDone = -1
        var warned = false
    }

    /// Where the file is.
    public let path: FilePath
    /// Time between rewrites.
    public let interval: Duration
    private let startedAt: Date
    private let state: Mutex<State>
    private let stopSignal = DispatchSemaphore(value: 0)
    /// Signalled by the rewriting thread as it ends: ``finish()`` waits for it, so no rewrite is in flight when the
    /// last one is written (or when the process exits: a rename cut off would leave its temporary file).
    private let stoppedSignal = DispatchSemaphore(value: 0)
    private let running = Mutex(false)
    private let fileSystem: any FileSystem

    /// A metrics file at `path`; nothing is written before ``start()``.
    public init(path: FilePath, identity: Identity, interval: Duration, fileSystem: any FileSystem = RealFileSystem()) {
        self.path = path
        self.interval = interval
        self.fileSystem = fileSystem
        let now = Date()
        startedAt = now
        state = Mutex(State(identity: identity, lastProgress: now))
    }

    /// Records the latest progress (call it from the progress callback; cheap).
    public func observe(_ snapshot: ProgressSnapshot) {
        state.withLock { s in
            let finished = snapshot.completed + snapshot.failed
            if s.lastDone >= 0, finished != s.lastDone { s.lastProgress = Date() }
            s.lastDone = finished
            s.snapshot = snapshot
        }
    }

    /// The run's id, once known (a new run's is known after it was created).
    public func setRunID(_ id: String) { state.withLock { $0.identity.runID = id } }

    /// The run's items in all and those already done, for the files written before the first item finishes (the
    /// first progress snapshot replaces them).
    public func setKnown(total: Int, done: Int) { state.withLock { $0.known = (total, done) } }

    /// An item starts an attempt: it is running, and a second attempt at the same key is a retry.
    public func attemptStarted(_ key: String) {
        state.withLock { s in
            s.running += 1
            let attempts = s.started[key, default: 0]
            if attempts > 0 { s.retried += 1 }
            s.started[key] = attempts + 1
        }
    }

    /// An item's attempt ended, whatever its outcome.
    public func attemptEnded(_ key: String) {
        state.withLock { s in
            s.running = max(0, s.running - 1)
        }
    }

    /// Runs `attempt` as one attempt at `key`, counted by ``attemptStarted(_:)`` and ``attemptEnded(_:)``.
    public func counting<T>(_ key: String, _ attempt: () async throws -> T) async rethrows -> T {
        attemptStarted(key)
        defer { attemptEnded(key) }
        return try await attempt()
    }

    /// Writes the file once (a path that cannot be written is an error here, before any work), then every
    /// ``interval`` on a thread of its own until ``finish()``.
    public func start() throws {
        try write()
        let first = running.withLock { r -> Bool in
            defer { r = true }
            return !r
        }
        guard first else { return }
        let thread = Thread { [self] in
            while stopSignal.wait(timeout: .now() + max(0.01, interval.seconds)) == .timedOut { writeWarningOnce() }
            stoppedSignal.signal()
        }
        thread.name = "DurableIO metrics file"
        thread.start()
    }

    /// Stops the rewrites, waits for one in flight to end, and writes the file a last time: the last content is
    /// the run's end, never an earlier rewrite renamed over it.
    public func finish() {
        let wasRunning = running.withLock { r -> Bool in
            defer { r = false }
            return r
        }
        if wasRunning {
            stopSignal.signal()
            stoppedSignal.wait()
        }
        writeWarningOnce()
    }

    private func writeWarningOnce() {
        do {
            try write()
        } catch {
            let first = state.withLock { s -> Bool in
                defer { s.warned = true }
                return !s.warned
            }
            if first { ProgressRenderer.standardError("warning: could not rewrite the metrics file: \(error) (the run goes on; the file keeps its last content)\n") }
        }
    }

    /// Replaces the file with ``render(now:)``.
    public func write() throws {
        try AtomicFile.write(render(), to: path, fileSystem: fileSystem)
    }

    /// The file's content now, in the Prometheus text format (rendered by swift-prometheus' registry).
    public func render(now: Date = Date()) -> String {
        let s = state.withLock { $0 }
        let memory = MemoryUsage.current(includingDescendants: true)
        let labels = s.identity.labels
        let snapshot = s.snapshot
        let done = snapshot.map { $0.completed + $0.skipped } ?? s.known?.done ?? 0
        let failed = snapshot?.failed ?? 0
        let total = snapshot?.total ?? s.known?.total ?? 0
        let registry = PrometheusCollectorRegistry()

        let items = "Items by state: done (by the run, earlier sessions included), failed (in this session, past retries), retried (retries started in this session)."
        for (state, value) in [("done", done), ("failed", failed), ("retried", s.retried)] {
            registry.makeCounter(descriptor: Self.name("durable_items_total", items), labels: labels + [("state", state)])
                .increment(by: Int64(value))
        }
        func gauge(_ name: String, _ help: String, _ value: Double) {
            registry.makeGauge(descriptor: Self.name(name, help), labels: labels).set(value)
        }
        gauge("durable_items_pending", "Items of the run neither done, failed nor running.", Double(max(0, total - done - failed - s.running)))
        gauge("durable_items_running", "Items in flight.", Double(s.running))
        gauge("durable_run_items", "The run's items in all (0 when unknown).", Double(total))
        gauge("durable_last_progress_timestamp_seconds", "Unix time an item last finished (the session's start before any).", s.lastProgress.timeIntervalSince1970)
        gauge("durable_heartbeat_timestamp_seconds", "Unix time this file was written; alert on time() minus it.", now.timeIntervalSince1970)
        gauge("durable_start_timestamp_seconds", "Unix time this session started.", startedAt.timeIntervalSince1970)
        gauge("durable_memory_bytes", "Resident plus swap bytes of the process and its item commands.", Double(memory.total))
        gauge("durable_memory_swap_bytes", "Swap bytes of the process itself (part of durable_memory_bytes).", Double(memory.swap))
        return Self.sorted(registry.emitToString())
    }

    /// The registry's text with its families in name order and each family's samples sorted (the registry emits
    /// them in hash order): one run's successive files differ only in their figures.
    static func sorted(_ text: String) -> String {
        var families: [[Substring]] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP") || families.isEmpty { families.append([]) }
            families[families.count - 1].append(line)
        }
        return families.map { family in
            let comments = family.filter { $0.hasPrefix("#") }
            return (comments + family.filter { !$0.hasPrefix("#") }.sorted()).joined(separator: "\n")
        }.sorted { ($0.split(separator: " ").dropFirst(2).first ?? "") < ($1.split(separator: " ").dropFirst(2).first ?? "") }
            .joined(separator: "\n") + "\n"
    }

    /// A metric's full name (the unit is in it already) and its `# HELP` text.
    private static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
