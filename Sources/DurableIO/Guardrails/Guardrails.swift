import Logging
import SystemPackage

/// Progress, heartbeat, stall watchdog, memory limit and a disk reserve together: one line after each batch.
///
/// ```swift
/// let guardrails = Guardrails(total: pending.count, memoryLimit: 4_000_000_000, heartbeatRecord: "out.jsonl.heartbeat")
/// try await guardrails.run {
///     for start in stride(from: 0, to: pending.count, by: 100) {
///         let batch = pending[start..<min(start + 100, pending.count)]
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
    /// The free space kept on the output's file system, if any.
    public var diskReserve: DiskReserve? { diskWatch?.reserve }
    private let diskWatch: DiskReserveWatch?
    private let fileSystem: any FileSystem

    /// Guardrails for a run of `total` items.
    ///
    /// - Parameters:
    ///   - total: how many items the run has, for the progress and its ETA; `nil` when unknown.
    ///   - memoryLimit: bytes of resident + swap; `nil` for none.
    ///   - heartbeatInterval: `nil` for no heartbeat. Default 60 s.
    ///   - heartbeatRecord: where each beat is recorded for `status`.
    ///   - stallTimeout: `nil` for no watchdog. Default 300 s.
    ///   - escalation: what the watchdog does if cancelled work does not end within its grace.
    ///   - diskReserve: free space to keep: checked before the work starts and after items (at most once per its
    ///     interval); `nil` for no check.
    ///   - timekeeper: the clock the progress tracker reads for its rate, ETA and last progress (``Timekeeper/system``
    ///     by default; a test passes its own).
    ///   - fileSystem: the file system the disk reserve's free space is asked of (the real one by default).
    ///   - logger: where the memory limit, heartbeat and watchdog log their events.
    ///   - spaceEstimate: asked at each heartbeat how much more disk the run needs (logged and recorded).
    public convenience init(
        total: Int?, memoryLimit: Int64? = nil, heartbeatInterval: Duration? = .seconds(60),
        heartbeatRecord: FilePath? = nil, stallTimeout: Duration? = .seconds(300),
        escalation: StallWatchdog.Escalation = .logOnly, diskReserve: DiskReserve? = nil, timekeeper: Timekeeper = .system,
        fileSystem: any FileSystem = RealFileSystem(), logger: Logger = Logger(label: "DurableIO.Guardrails"),
        spaceEstimate: (@Sendable () -> SpaceEstimate?)? = nil
    ) {
        self.init(
            tracker: ProgressTracker(total: total, timekeeper: timekeeper), limits: GuardrailLimits(
                memoryLimit: memoryLimit, stallTimeout: stallTimeout, diskReserve: diskReserve),
            heartbeatInterval: heartbeatInterval, heartbeatRecord: heartbeatRecord, escalation: escalation,
            fileSystem: fileSystem, logger: logger, spaceEstimate: spaceEstimate)
    }

    /// Guardrails over a run's own progress `tracker` (the stall watchdog watches it), enforcing `limits`.
    public init(
        tracker: ProgressTracker, limits: GuardrailLimits, heartbeatInterval: Duration? = nil,
        heartbeatRecord: FilePath? = nil, escalation: StallWatchdog.Escalation = .logOnly,
        fileSystem: any FileSystem = RealFileSystem(), logger: Logger = Logger(label: "DurableIO.Guardrails"),
        spaceEstimate: (@Sendable () -> SpaceEstimate?)? = nil
    ) {
        let memoryLimit = limits.memoryLimit, stallTimeout = limits.stallTimeout
        self.fileSystem = fileSystem
        diskWatch = limits.diskReserve.map { DiskReserveWatch($0, fileSystem: fileSystem) }
        progress = tracker
        self.memoryLimit = memoryLimit.map { MemoryLimit(bytes: $0, logger: logger) }
        heartbeat = heartbeatInterval.map {
            Heartbeat(tracker: tracker, interval: $0, record: heartbeatRecord, logger: logger, spaceEstimate: spaceEstimate)
        }
        watchdog = stallTimeout.map { StallWatchdog(tracker: tracker, timeout: $0, escalation: escalation, logger: logger) }
    }

    /// After a batch: marks progress (which also feeds the stall watchdog), checks memory and, when due, the disk
    /// reserve.
    ///
    /// - Throws: ``DurableIOError/Code/memoryLimitExceeded``, ``DurableIOError/Code/insufficientDiskSpace``.
    public func afterBatch(completed: Int, failed: Int = 0) throws(DurableIOError) {
        progress.mark(completed: completed, failed: failed)
        try memoryLimit?.check()
        try diskWatch?.checkIfDue()
    }

    /// The limit that is passed now, if any — memory, or (when a check is due) the disk reserve — for a loop that
    /// stops starting items and lets those in flight finish before it reports the stop.
    package func limitReached() -> DurableIOError? {
        do {
            try memoryLimit?.check()
            try diskWatch?.checkIfDue()
            return nil
        } catch {
            return error
        }
    }

    /// Runs `work` with the heartbeat beating and the watchdog watching; a last beat when it ends. The disk
    /// reserve is checked first: below it, nothing starts.
    ///
    /// - Throws: ``DurableIOError/Code/insufficientDiskSpace`` before the work starts, or what `work` throws.
    public func run<R: Sendable>(_ work: @escaping @Sendable () async throws -> R) async throws -> R {
        try diskWatch?.reserve.check(beforeStart: true, fileSystem: fileSystem)
        heartbeat?.start()
        defer {
            heartbeat?.beat()
            heartbeat?.stop()
        }
        if let watchdog { return try await watchdog.run(work) }
        return try await work()
    }
}
