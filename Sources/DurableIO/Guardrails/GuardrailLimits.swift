import SystemPackage

/// The limits a run's guardrails enforce, as one value a run's options carry: resident + swap memory, how long
/// nothing may complete, and the free space to keep on a disk. Each stop is a guardrail stop (`FailureClass
/// .guardrail`, exit 6 in the CLIs): everything acknowledged is durable.
///
/// ```swift
/// let limits = GuardrailLimits(memoryLimit: 4 << 30, stallTimeout: .seconds(300),
///                              diskReserve: DiskReserve(bytes: 300 << 20, at: "/data"))
/// ```
public struct GuardrailLimits: Sendable {
    /// Resident + swap of the process and its item commands, in bytes; `nil` for no limit.
    public var memoryLimit: Int64?
    /// Stop when no item completes for this long; `nil` for no watchdog.
    public var stallTimeout: Duration?
    /// Free space to keep; `nil` for no check.
    public var diskReserve: DiskReserve?

    /// Limits; none by default.
    public init(memoryLimit: Int64? = nil, stallTimeout: Duration? = nil, diskReserve: DiskReserve? = nil) {
        self.memoryLimit = memoryLimit
        self.stallTimeout = stallTimeout
        self.diskReserve = diskReserve
    }

    /// No limit at all.
    public static let none = GuardrailLimits()
}
