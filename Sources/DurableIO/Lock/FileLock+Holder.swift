import Foundation
import SystemPackage

extension FileLock {
    /// Who holds a ``FileLock`` exclusively, as the kernel and the lock file's owner record tell together.
    ///
    /// The owner record stays in the lock file after its writer is gone, and a process that is not DurableIO
    /// (util-linux `flock out.jsonl.lock sleep 30`) takes the lock without writing one: the record alone would name
    /// a long-dead pid. So the holder is asked of the kernel (`/proc/locks` on Linux), and the record is believed
    /// only when it names that process.
    ///
    /// ```swift
    /// if let holder = FileLock.exclusiveHolder(of: "out.jsonl.lock") {
    ///     print("held by \(holder)")   // "held by pid 4242 (durable-extract run) on host-a since …"
    /// }
    /// ```
    public struct Holder: Sendable, Equatable, Encodable, CustomStringConvertible {
        /// The holding process as the kernel lists it; `nil` when the system does not say (not Linux, or a
        /// process in a pid namespace this one cannot see).
        public var pid: Int32?
        /// The kernel's name of the holding process (`/proc/<pid>/comm`), when known.
        public var processName: String?
        /// The owner record in the lock file, if one can be read.
        public var record: LockOwner?
        /// Whether the record was left by an earlier holder: it names another process than the kernel's holder,
        /// or a process that is no longer running.
        public var recordIsStale: Bool

        /// The record, when it names the process holding the lock now.
        public var currentRecord: LockOwner? { recordIsStale ? nil : record }

        /// `pid 4242 (durable-extract run) on host-a since …`, or, with a stale record,
        /// `pid 5151 (flock); the lock file's owner record (pid 4242 …) is stale: that process does not hold the lock`.
        public var description: String {
            if let record, !recordIsStale { return "\(record)" }
            let holder = pid.map { pid in "pid \(pid)" + (processName.map { " (\($0))" } ?? "") } ?? "an unknown process"
            guard let record else { return pid == nil ? "another process (no owner record yet)" : holder }
            let why = pid == nil ? "that process is no longer running" : "that process does not hold the lock"
            return "\(holder); the lock file's owner record (\(record)) is stale: \(why)"
        }
    }

    /// Who holds the lock at `path` exclusively, or `nil` when nobody does.
    ///
    /// Whether it is held is asked of the kernel (a momentary non-blocking shared lock), and so is who holds it;
    /// see ``Holder``.
    public static func exclusiveHolder(of path: FilePath, fileSystem: any FileSystem = RealFileSystem()) -> Holder? {
        guard let fd = try? fileSystem.open(path, .readOnly, options: [.noFollow], permissions: nil) else { return nil }
        defer { try? fileSystem.close(fd) }
        do {
            try fileSystem.flock(fd, FileLockOperation(.shared, nonBlocking: true))
            try? fileSystem.flock(fd, FileLockOperation(.unlock))
            return nil  // nobody holds it exclusively
        } catch {
            let bytes = (try? fileSystem.read(fd, upTo: 4096, at: 0)) ?? []
            let record = LockOwner.decode(bytes)
            let pid = LockHolders.flockHolder(of: path, exclusiveOnly: true, fileSystem: fileSystem)
            let stale: Bool
            switch (record, pid) {
            case (nil, _): stale = false
            case (let record?, let pid?): stale = record.pid != pid || record.host != ProcessIdentity.host
            case (let record?, nil): stale = record.isProvablyDead(on: fileSystem)
            }
            return Holder(pid: pid, processName: pid.flatMap { LockHolders.processName(of: $0, fileSystem: fileSystem) }, record: record, recordIsStale: stale)
        }
    }

    /// Who holds the lock, for messages: the kernel's holder, with the owner record when it names that process.
    public func describeHolder() -> String {
        Self.exclusiveHolder(of: path, fileSystem: fileSystem)?.description ?? "another process (no owner record yet)"
    }
}
