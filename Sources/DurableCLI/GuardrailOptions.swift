import ArgumentParser
import DurableIO

/// The guardrail flags every long-running command takes, with one meaning and one set of defaults (issue 16):
/// `--memory-limit` (resident + swap of the process and its item commands; default 4G, as the guardrails plan says
/// no job may pass 4 GB without an explicit override; `none` lifts it), `--stall-timeout` (default 300s; 0
/// disables) and `--min-free-disk` (default 300M, the resumable-run spec's reserve; 0 disables). Each stop exits 6.
///
/// ```swift
/// struct Run: AsyncParsableCommand {
///     @OptionGroup var guardrails: GuardrailOptions
///     func run() async throws { let limits = guardrails.limits(diskHolding: "/data/out.jsonl") }
/// }
/// ```
public struct GuardrailOptions: ParsableArguments, Sendable {
    @OptionGroup public var resources: ResourceLimitOptions

    @Option(help: "Stop (exit 6) when no item completes for this long (default 300s; e.g. 10m; 0 disables).", transform: DurationArgument.parse)
    public var stallTimeout: DurationArgument = "300s"

    public init() {}

    /// The limits these flags set, with the disk reserve kept on the file system that holds `file` (the output,
    /// the database; `nil`: no local disk to watch, e.g. a PostgreSQL store).
    public func limits(diskHolding file: FilePath?) -> GuardrailLimits {
        var limits = resources.limits(diskHolding: file)
        limits.stallTimeout = stallTimeout.duration == .zero ? nil : stallTimeout.duration
        return limits
    }
}

/// The two guardrails a command without items to watch for stalls takes too (durable-backfill, whose batches are
/// bounded by its busy timeout): `--memory-limit` and `--min-free-disk`, with ``GuardrailOptions``' defaults.
///
/// ```swift
/// @OptionGroup var limits: ResourceLimitOptions   // limits.limits(diskHolding: "app.db").memoryLimit == 4 << 30
/// ```
public struct ResourceLimitOptions: ParsableArguments, Sendable {
    @Option(
        help: "Stop cleanly (exit 6) when resident + swap memory of this process and its item commands passes this (default 4G; e.g. 512M; none lifts it).",
        transform: MemoryLimitArgument.parse)
    public var memoryLimit = MemoryLimitArgument.fourGigabytes

    @Option(
        help: "Stop cleanly (exit 6) when the disk that holds the output or database has less free space than this, checked before the first item and every second (default 300M; 0 disables).",
        transform: ByteCountArgument.parse)
    public var minFreeDisk = ByteCountArgument(argument: "300M")!

    public init() {}

    /// The memory limit and the disk reserve on the file system that holds `file` (`nil`: none to watch).
    public func limits(diskHolding file: FilePath?) -> GuardrailLimits {
        GuardrailLimits(
            memoryLimit: memoryLimit.bytes,
            diskReserve: file.flatMap {
                minFreeDisk.bytes == 0 ? nil : DiskReserve(bytes: minFreeDisk.bytes, at: DiskReserve.directory(holding: $0))
            })
    }
}

/// A memory limit flag's value: a byte count, or `none`.
///
/// ```swift
/// let limit = try MemoryLimitArgument.parse("none")   // limit.bytes == nil
/// ```
public struct MemoryLimitArgument: Sendable, CustomStringConvertible, ExpressibleByArgument {
    /// The limit in bytes; `nil` for none.
    public var bytes: Int64?
    public let description: String

    public init?(argument: String) {
        guard let parsed = try? Self.parse(argument) else { return nil }
        self = parsed
    }

    private init(bytes: Int64?, description: String) {
        self.bytes = bytes
        self.description = description
    }

    /// The default: 4 GiB.
    public static let fourGigabytes = MemoryLimitArgument(bytes: 4 << 30, description: "4G")

    /// Parses `none` or a byte count, or throws an ``ArgumentRangeError`` saying what is accepted.
    public static func parse(_ text: String) throws -> MemoryLimitArgument {
        if text.trimmingCharacters(in: .whitespaces).lowercased() == "none" { return MemoryLimitArgument(bytes: nil, description: "none") }
        guard let count = ByteCountArgument(argument: text), count.bytes > 0 else {
            throw ArgumentRangeError(value: text, accepted: "none, or a byte count above 0 up to 1P: 512M, 4G or 64G (powers of 1024)")
        }
        return MemoryLimitArgument(bytes: count.bytes, description: text)
    }
}
