import Logging
import Synchronization

/// A memory limit a job checks after each batch: a warning once at a fraction of it (default 80 %), and a clear
/// error past it, before the machine starts to thrash.
///
/// It counts resident + swap (see ``MemoryUsage``) of this process and, by default, of its descendants (the item
/// commands and whatever they start; measured at most once a second, a pass over `/proc`; this process at most every
/// 10 ms), plus a process group when given. If the cgroup's `memory.max` is lower than the configured limit, that is
/// logged once: the kernel will act first.
///
/// ```swift
/// let limit = MemoryLimit(bytes: 4_000_000_000)
/// for batch in batches {
///     try process(batch)
///     try limit.check()   // "resident memory 4.31 GB exceeds the 4.00 GB limit (resident 3.90 GB + swap 410 MB)"
/// }
/// ```
public final class MemoryLimit: Sendable {
    /// The limit in bytes.
    public let bytes: Int64
    /// The fraction at which one warning is logged.
    public let warningFraction: Double
    /// Also count this process group (the item commands).
    public let processGroup: Int32?
    private let logger: Logger
    private let warned = Mutex(false)
    private let measure: @Sendable () -> MemoryUsage

    /// A limit of `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: the limit: resident + swap, in bytes.
    ///   - warningFraction: the share of `bytes` at which one warning is logged (default 0.8).
    ///   - processGroup: also count the members of this process group (the item commands'); `nil` for none.
    ///   - includingDescendants: also count this process's descendants (default `true`).
    ///   - logger: where the warning is logged.
    public convenience init(
        bytes: Int64, warningFraction: Double = 0.8, processGroup: Int32? = nil, includingDescendants: Bool = true,
        logger: Logger = Logger(label: "DurableIO.Guardrails")
    ) {
        let others = Mutex<(at: ContinuousClock.Instant, bytes: Int64)?>(nil)
        let own = Mutex<(at: ContinuousClock.Instant, usage: MemoryUsage)?>(nil)
        self.init(bytes: bytes, warningFraction: warningFraction, processGroup: processGroup, logger: logger) {
            // A check runs after every item: this process is measured at most every 10 ms (its status is generated
            // by the kernel at each read, 12 µs), the other processes at most once a second (a pass over /proc).
            let now = ContinuousClock.now
            var usage = own.withLock { cached in
                if let cached, now - cached.at < .milliseconds(10) { return cached.usage }
                let usage = MemoryUsage.current()
                cached = (now, usage)
                return usage
            }
            guard processGroup != nil || includingDescendants else { return usage }
            usage.children = others.withLock { cached in
                if let cached, now - cached.at < .seconds(1) { return cached.bytes }
                let bytes = MemoryUsage.othersUsage(group: processGroup, descendants: includingDescendants, fileSystem: RealFileSystem())
                cached = (now, bytes)
                return bytes
            }
            return usage
        }
    }

    init(
        bytes: Int64, warningFraction: Double, processGroup: Int32?, logger: Logger,
        measure: @escaping @Sendable () -> MemoryUsage
    ) {
        self.bytes = bytes
        self.warningFraction = warningFraction
        self.processGroup = processGroup
        self.logger = logger
        self.measure = measure
        if let cgroup = MemoryUsage.cgroupLimit(), cgroup < bytes {
            logger.warning(
                "the cgroup memory limit \(MemoryUsage.format(cgroup)) is lower than the configured \(MemoryUsage.format(bytes)): the kernel's OOM killer will act first")
        }
    }

    /// Measures, warns once past the warning fraction, and throws past the limit.
    ///
    /// - Returns: the usage measured.
    /// - Throws: ``DurableIOError/Code/memoryLimitExceeded``.
    @discardableResult
    public func check() throws(DurableIOError) -> MemoryUsage {
        let usage = measure()
        let warning = Double(usage.total) >= Double(bytes) * warningFraction
        guard warning || usage.total > bytes else { return usage }
        // Formatted only past the warning fraction: this runs after every item.
        let detail =
            "resident \(MemoryUsage.format(usage.resident)) + swap \(MemoryUsage.format(usage.swap))"
            + (usage.children > 0 ? " + item commands \(MemoryUsage.format(usage.children))" : "")
        if usage.total > bytes {
            throw DurableIOError(
                .memoryLimitExceeded, operation: "memory check",
                message: "resident memory \(MemoryUsage.format(usage.total)) exceeds the \(MemoryUsage.format(bytes)) limit (\(detail))",
                hint: "Everything acknowledged so far is durable; rerun to resume. Lower the batch size or concurrency, or raise the limit if the machine has the memory.")
        }
        let first = warning && warned.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first {
            logger.warning(
                "memory at \(Int(Double(usage.total) / Double(bytes) * 100)) % of the \(MemoryUsage.format(bytes)) limit (\(detail))")
        }
        return usage
    }
}
