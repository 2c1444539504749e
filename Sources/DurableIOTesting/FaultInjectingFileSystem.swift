import DurableIO
import Synchronization
import SystemPackage

/// A `FileSystem` that passes every call to another one, records it, and injects the faults you ask for:
/// `ENOSPC` on a write, `EIO` on `fsync`, short writes, `EINVAL` on a directory fsync, any errno on any call.
///
/// Use it to check that your code fails closed: that an error is reported, nothing is retried into a false
/// success, and what was acknowledged stays intact. The recorded ``calls`` let a test assert the order of
/// system calls (e.g. `fsync` of the output before `unlink` of staging).
///
/// ```swift
/// let fs = FaultInjectingFileSystem()
/// fs.inject(Fault(.fsync, error: .ioError))
/// #expect(throws: DurableIOError.self) { try AtomicFile.write("new", to: path, fileSystem: fs) }
/// print(fs.calls.map(\.description))   // ["open …", "write …", "fsync …"]
/// ```
public final class FaultInjectingFileSystem: FileSystem {
    private let base: any FileSystem
    private let state = Mutex(State())

    private struct State {
        var calls: [SyscallRecord] = []
        var faults: [Fault] = []
        var paths: [Int32: FilePath] = [:]
    }

    /// Wraps `base` (default: the real file system).
    public init(base: any FileSystem = RealFileSystem()) { self.base = base }

    /// Every call so far, in order.
    public var calls: [SyscallRecord] { state.withLock { $0.calls } }

    /// Forgets the recorded calls.
    public func clearCalls() { state.withLock { $0.calls.removeAll() } }

    /// Adds a fault; faults are checked in the order added.
    public func inject(_ fault: Fault) { state.withLock { $0.faults.append(fault) } }

    /// Removes every fault.
    public func removeFaults() { state.withLock { $0.faults.removeAll() } }

    /// Records the call and returns the fault's action, if one matches.
    private func enter(_ operation: SyscallRecord.Operation, path: FilePath?, fd: FileDescriptor? = nil) -> Fault.Action? {
        state.withLock { state in
            let resolved = path ?? fd.flatMap { state.paths[$0.rawValue] }
            state.calls.append(SyscallRecord(operation: operation, path: resolved))
            return state.faults.fire(operation, resolved)
        }
    }

    private func fail(_ action: Fault.Action?) throws(Errno) {
        if case .fail(let errno) = action { throw errno }
    }

    public func open(
        _ path: FilePath, _ access: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions,
        permissions: FilePermissions?
    ) throws(Errno) -> FileDescriptor {
        try fail(enter(.open, path: path))
        let fd = try base.open(path, access, options: options, permissions: permissions)
        state.withLock { $0.paths[fd.rawValue] = path }
        return fd
    }

    public func close(_ fd: FileDescriptor) throws(Errno) {
        try fail(enter(.close, path: nil, fd: fd))
        state.withLock { _ = $0.paths.removeValue(forKey: fd.rawValue) }
        try base.close(fd)
    }

    public func read(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try fail(enter(.read, path: nil, fd: fd))
        return try base.read(fd, into: buffer)
    }

    public func pread(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try fail(enter(.read, path: nil, fd: fd))
        return try base.pread(fd, into: buffer, at: offset)
    }

    public func write(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        let action = enter(.write, path: nil, fd: fd)
        try fail(action)
        if case .shortWrite(let limit) = action, limit < buffer.count {
            return try base.write(fd, UnsafeRawBufferPointer(rebasing: buffer[..<max(limit, 1)]))
        }
        return try base.write(fd, buffer)
    }

    public func pwrite(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        let action = enter(.write, path: nil, fd: fd)
        try fail(action)
        if case .shortWrite(let limit) = action, limit < buffer.count {
            return try base.pwrite(fd, UnsafeRawBufferPointer(rebasing: buffer[..<max(limit, 1)]), at: offset)
        }
        return try base.pwrite(fd, buffer, at: offset)
    }

    public func fsync(_ fd: FileDescriptor) throws(Errno) {
        try fail(enter(.fsync, path: nil, fd: fd))
        try base.fsync(fd)
    }

    public func fdatasync(_ fd: FileDescriptor) throws(Errno) {
        try fail(enter(.fdatasync, path: nil, fd: fd))
        try base.fdatasync(fd)
    }

    public func rename(_ source: FilePath, to destination: FilePath) throws(Errno) {
        try fail(enter(.rename, path: destination))
        try base.rename(source, to: destination)
    }

    public func link(_ existing: FilePath, to newPath: FilePath) throws(Errno) {
        try fail(enter(.link, path: newPath))
        try base.link(existing, to: newPath)
    }

    public func touch(_ fd: FileDescriptor) throws(Errno) {
        try fail(enter(.touch, path: nil, fd: fd))
        try base.touch(fd)
    }

    public func unlink(_ path: FilePath) throws(Errno) {
        try fail(enter(.unlink, path: path))
        try base.unlink(path)
    }

    public func truncate(_ fd: FileDescriptor, to length: Int64) throws(Errno) {
        try fail(enter(.truncate, path: nil, fd: fd))
        try base.truncate(fd, to: length)
    }

    public func setPermissions(_ fd: FileDescriptor, _ permissions: FilePermissions) throws(Errno) {
        try fail(enter(.setPermissions, path: nil, fd: fd))
        try base.setPermissions(fd, permissions)
    }

    public func mkdir(_ path: FilePath, permissions: FilePermissions) throws(Errno) {
        try fail(enter(.mkdir, path: path))
        try base.mkdir(path, permissions: permissions)
    }

    public func flock(_ fd: FileDescriptor, _ operation: FileLockOperation) throws(Errno) {
        try fail(enter(.flock, path: nil, fd: fd))
        try base.flock(fd, operation)
    }

    public func stat(_ path: FilePath, followSymlinks: Bool) throws(Errno) -> FileStatus {
        try fail(enter(.stat, path: path))
        return try base.stat(path, followSymlinks: followSymlinks)
    }

    public func fstat(_ fd: FileDescriptor) throws(Errno) -> FileStatus {
        try fail(enter(.stat, path: nil, fd: fd))
        return try base.fstat(fd)
    }

    public func availableSpace(at path: FilePath) throws(Errno) -> Int64 {
        try fail(enter(.availableSpace, path: path))
        return try base.availableSpace(at: path)
    }

    public func isProcessAlive(_ pid: Int32) -> Bool { base.isProcessAlive(pid) }

    public func processStartTime(_ pid: Int32) -> Double? { base.processStartTime(pid) }

    public func listDirectory(_ path: FilePath) throws(Errno) -> [FilePath.Component] {
        try fail(enter(.listDirectory, path: path))
        return try base.listDirectory(path)
    }
}

/// One recorded system call.
///
/// ```swift
/// let renames = fs.calls.filter { $0.operation == .rename }   // e.g. [rename /data/out.jsonl]
/// ```
public struct SyscallRecord: Sendable, Equatable, CustomStringConvertible {
    /// The kinds of call.
    public enum Operation: String, Sendable, Equatable {
        case open, close, read, write, fsync, fdatasync, rename, link, touch, unlink, truncate, setPermissions, mkdir, flock, stat
        case listDirectory, availableSpace
    }

    /// Which call.
    public var operation: Operation
    /// The path it concerned (for descriptor calls, the path the descriptor was opened with; for `rename`, the
    /// destination).
    public var path: FilePath?

    /// Creates a record.
    public init(operation: Operation, path: FilePath?) {
        self.operation = operation
        self.path = path
    }

    public var description: String { "\(operation.rawValue) \(path.map { "\($0)" } ?? "?")" }
}

/// A fault to inject: which call, on which path, what happens, after how many matching calls, how often.
///
/// ```swift
/// Fault(.write, error: .noSpace)                                  // every write fails with ENOSPC
/// Fault(.fsync, path: { $0.lastComponent?.string == "dir" }, error: .invalidArgument)
/// Fault(.write, action: .shortWrite(10), times: 1)                // one short write
/// ```
public struct Fault: Sendable {
    /// What the faulty call does.
    public enum Action: Sendable {
        /// Fails with this errno, touching nothing.
        case fail(Errno)
        /// Writes at most this many bytes (at least 1) and returns the short count.
        case shortWrite(Int)
    }

    /// The call it applies to.
    public var operation: SyscallRecord.Operation
    /// Which paths it applies to (default: all).
    public var path: @Sendable (FilePath) -> Bool
    /// What happens.
    public var action: Action
    /// Matching calls to let through first.
    public var skip: Int
    /// How many times to fire (`nil`: every time after `skip`).
    public var times: Int?

    /// A fault that fails the call with `error`.
    public init(
        _ operation: SyscallRecord.Operation, path: @escaping @Sendable (FilePath) -> Bool = { _ in true },
        error: Errno, skip: Int = 0, times: Int? = nil
    ) {
        self.init(operation, path: path, action: .fail(error), skip: skip, times: times)
    }

    /// A fault with any action.
    public init(
        _ operation: SyscallRecord.Operation, path: @escaping @Sendable (FilePath) -> Bool = { _ in true },
        action: Action, skip: Int = 0, times: Int? = nil
    ) {
        self.operation = operation
        self.path = path
        self.action = action
        self.skip = skip
        self.times = times
    }

    func matches(_ operation: SyscallRecord.Operation, _ path: FilePath?) -> Bool {
        self.operation == operation && path.map(self.path) ?? true
    }
}

extension Array where Element == Fault {
    /// The action of the first fault that fires for this call, counting down `skip` and `times` on the way.
    mutating func fire(_ operation: SyscallRecord.Operation, _ path: FilePath?) -> Fault.Action? {
        for i in indices where self[i].matches(operation, path) {
            if self[i].skip > 0 {
                self[i].skip -= 1
                continue
            }
            if let remaining = self[i].times {
                if remaining == 0 { continue }
                self[i].times = remaining - 1
            }
            return self[i].action
        }
        return nil
    }
}
