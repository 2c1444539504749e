import Synchronization
import SystemPackage

/// Free space a run keeps on the file system that holds its output or database, so that it stops cleanly before
/// the disk fills instead of running into `ENOSPC` part-way through a write: ``Guardrails`` checks it before the
/// first item and again after items at most once a ``checkInterval``.
///
/// ```swift
/// let reserve = DiskReserve(bytes: 300 << 20, at: "/data")   // durable-extract's --min-free-disk default
/// try reserve.check()   // "only 120.0 MB free at /data, below the run's 300.0 MB reserve: stopped …"
/// ```
public struct DiskReserve: Sendable {
    /// Bytes that must stay free.
    public var bytes: Int64
    /// A directory on the file system to watch (the output's or the database's).
    public var directory: FilePath
    /// How often a check after an item actually asks the file system (`statvfs`).
    public var checkInterval: Duration

    /// A reserve of `bytes` on the file system holding `directory`.
    public init(bytes: Int64, at directory: FilePath, checkInterval: Duration = .seconds(1)) {
        self.bytes = bytes
        self.directory = directory
        self.checkInterval = checkInterval
    }

    /// The directory a reserve for `file` watches: the one that holds it (`.` for a bare file name).
    public static func directory(holding file: FilePath) -> FilePath {
        let folder = file.removingLastComponent()
        return folder.isEmpty ? "." : folder
    }

    /// Throws unless at least ``bytes`` are free.
    ///
    /// - Parameters:
    ///   - beforeStart: the message says no item was started (the preflight) rather than that the run stopped.
    ///   - fileSystem: the file system asked for the free space (the real one by default).
    /// - Throws: ``DurableIOError/Code/insufficientDiskSpace`` (a guardrail stop: exit 6 in the CLIs) with both
    ///   figures.
    public func check(beforeStart: Bool = false, fileSystem: any FileSystem = RealFileSystem()) throws(DurableIOError) {
        let free = try DiskSpace.available(at: directory, fileSystem: fileSystem)
        guard free < bytes else { return }
        let figures = "only \(MemoryUsage.format(free)) free at \(directory), below the run's \(MemoryUsage.format(bytes)) reserve"
        throw DurableIOError(
            .insufficientDiskSpace, operation: beforeStart ? "disk space preflight" : "disk space check", path: directory,
            message: beforeStart ? figures + "; no item was started" : figures + ": stopped before the disk fills",
            hint: beforeStart
                ? "Free space, point the output at a larger disk, or lower the reserve."
                : "Everything acknowledged is durable. Free space (or lower the reserve), then run again to resume.")
    }
}

/// A ``DiskReserve`` checked at most once per interval (after items, which may come thousands a second).
final class DiskReserveWatch: Sendable {
    let reserve: DiskReserve
    private let fileSystem: any FileSystem
    private let lastCheck = Mutex<ContinuousClock.Instant?>(nil)

    init(_ reserve: DiskReserve, fileSystem: any FileSystem) {
        self.reserve = reserve
        self.fileSystem = fileSystem
    }

    /// Checks the reserve if the last check is older than its interval.
    func checkIfDue() throws(DurableIOError) {
        let now = ContinuousClock.now
        let due = lastCheck.withLock { last -> Bool in
            guard last.map({ now - $0 >= reserve.checkInterval }) ?? true else { return false }
            last = now
            return true
        }
        if due { try reserve.check(fileSystem: fileSystem) }
    }
}
