import Logging
import SystemPackage

/// Progress, heartbeat, stall watchdog and memory limit together: one line after each batch.
///
/// ```swift
/// let guardrails = Guardrails(total: pending.count, memoryLimit: 4_000_000_000, heartbeatRecord: "out.jsonl.heartbeat")
/// try await guardrails.run {
///     for batch in pending.chunks(ofCount: 100) {
///         try await process(batch)
///         try guardrails.afterBatch(completed: batch.count)   // progress, stall mark, memory check
///     }
/// }
/// ```
public final class Guardrails: Sendable {
    /// The run's progress.
    public let progress: ProgressTracker
    /// The memory limit, if any.
    public let memoryLimit: MemoryLimit?
    /// The heartbeat, if any.
    public let heartbeat: Heartbeat?
    /// The stall watchdog, if any.
    public let watchdog: StallWatchdog?

    /// Guardrails for a run of `total` items.
    ///
    /// - Parameters:
    ///   - memoryLimit: bytes of resident + swap; `nil` for none.
    ///   - heartbeatInterval: `nil` for no heartbeat. Default 60 s.
    ///   - heartbeatRecord: where each beat is recorded for `status`.
    ///   - stallTimeout: `nil` for no watchdog. Default 300 s.
    ///   - escalation: what the watchdog does if cancelled work does not end within its grace.
    public init(
        total: Int?, memoryLimit: Int64? = nil, heartbeatInterval: Duration? = .seconds(60),
        heartbeatRecord: FilePath? = nil, stallTimeout: Duration? = .seconds(300),
        escalation: StallWatchdog.Escalation = .logOnly, timekeeper: Timekeeper = .system,
        logger: Logger = Logger(label: "DurableIO.Guardrails")
    ) {
        let tracker = ProgressTracker(total: total, timekeeper: timekeeper)
        progress = tracker
        self.memoryLimit = memoryLimit.map { MemoryLimit(bytes: $0, logger: logger) }
        heartbeat = heartbeatInterval.map {
            Heartbeat(tracker: tracker, interval: $0, record: heartbeatRecord, logger: logger)
        }
        watchdog = stallTimeout.map { StallWatchdog(tracker: tracker, timeout: $0, escalation: escalation, logger: logger) }
    }

    /// After a batch: marks progress (which also feeds the stall watchdog) and checks memory.
    ///
    /// - Throws: ``DurableIOError/Code/memoryLimitExceeded``.
    public func afterBatch(completed: Int, failed: Int = 0) throws(DurableIOError) {
        progress.mark(completed: completed, failed: failed)
        try memoryLimit?.check()
    }

    /// Runs `work` with the heartbeat beating and the watchdog watching; a last beat when it ends.
    public func run<R: Sendable>(_ work: @escaping @Sendable () async throws -> R) async throws -> R {
        heartbeat?.start()
        defer {
            heartbeat?.beat()
            heartbeat?.stop()
        }
        if let watchdog { return try await watchdog.run(work) }
        return try await work()
    }
}
