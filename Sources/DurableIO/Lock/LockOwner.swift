import Foundation

/// The record a lock holder leaves in its lock file, for diagnostics and for deciding whether a lock is stale.
///
/// It names the process (pid, host, start time since boot with the boot id, so a reused pid is told apart), the
/// time of acquisition, the fencing token of the acquisition and a random nonce. The command is the executable
/// name and its subcommand only: a full command line may carry a password.
///
/// ```swift
/// if let owner = FileLock.holder(of: "out.jsonl.lock") {
///     print("held by pid \(owner.pid) (\(owner.command)) on \(owner.host) since \(owner.acquiredAt)")
/// }
/// ```
public struct LockOwner: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The holder's process id.
    public var pid: Int32
    /// The holder's host name.
    public var host: String
    /// `"<boot id>:<start ticks>"` of the holder process, when the system tells.
    public var processStart: String?
    /// When the lock was taken, ISO 8601 UTC.
    public var acquiredAt: String
    /// The fencing token of this acquisition: larger than every earlier one on this lock. Pass it to what you
    /// write so a holder whose lock was taken from it can be refused.
    public var token: Int
    /// A random value naming this one acquisition.
    public var nonce: String
    /// Executable name and subcommand, e.g. `durable-extract run`.
    public var command: String

    /// The record for this process, acquiring now with `token`.
    static func current(token: Int) -> LockOwner {
        let pid = ProcessInfo.processInfo.processIdentifier
        return LockOwner(
            pid: pid, host: ProcessIdentity.host, processStart: ProcessIdentity.startTime(of: pid),
            acquiredAt: ISO8601DateFormatter().string(from: Date()), token: token,
            nonce: UUID().uuidString, command: ProcessIdentity.command)
    }

    /// `pid 4242 (durable-extract run) on host-a since 2026-11-23T05:12:09Z`.
    public var description: String { "pid \(pid) (\(command)) on \(host) since \(acquiredAt)" }

    /// Whether the record proves its holder dead: same host, and the pid is gone or is another process now.
    func isProvablyDead(on fileSystem: any FileSystem) -> Bool {
        guard host == ProcessIdentity.host else { return false }
        if !fileSystem.isProcessAlive(pid) { return true }
        guard let recorded = processStart, let current = ProcessIdentity.startTime(of: pid) else { return false }
        return recorded != current
    }

    /// The JSON bytes, one line.
    var encoded: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data()) + [0x0A]
    }

    /// Parses a record; `nil` for empty, partial or foreign content.
    static func decode(_ bytes: [UInt8]) -> LockOwner? {
        try? JSONDecoder().decode(LockOwner.self, from: Data(bytes))
    }
}
