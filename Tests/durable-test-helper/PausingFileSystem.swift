import DurableIO
import Foundation
import Synchronization
import SystemPackage

/// The real file system, except that the first `rename` of one path pauses this process twice: before the rename
/// (after the caller judged what is there) and after it, each time until a file appears. It lets a test hold a
/// reclaimer in the middle of its reclaim while other processes act — the window a SPIN counterexample needs,
/// which is microseconds wide without it.
///
/// ```swift
/// let fs = PausingFileSystem(pausing: lockPath, before: dir + "/go-1", after: dir + "/go-2") { print($0) }
/// let lock = LockFile(at: lockPath, fileSystem: fs)
/// ```
final class PausingFileSystem: FileSystem {
    private let base = RealFileSystem()
    private let pausing: FilePath
    private let before: String
    private let after: String
    private let say: @Sendable (String) -> Void
    private let paused = Mutex(false)

    init(pausing: FilePath, before: String, after: String, say: @escaping @Sendable (String) -> Void) {
        self.pausing = pausing
        self.before = before
        self.after = after
        self.say = say
    }

    /// Waits until `file` exists (polling every 2 ms, at most 60 s).
    private func waitFor(_ file: String) {
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: file) && Date() < deadline { usleep(2000) }
    }

    func rename(_ source: FilePath, to destination: FilePath) throws(Errno) {
        let first = source == pausing && paused.withLock { wasPaused in
            defer { wasPaused = true }
            return !wasPaused
        }
        guard first else { return try base.rename(source, to: destination) }
        say("paused-before-rename")
        waitFor(before)
        defer {
            say("paused-after-rename")
            waitFor(after)
        }
        try base.rename(source, to: destination)
    }

    func open(
        _ path: FilePath, _ access: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions, permissions: FilePermissions?
    ) throws(Errno) -> FileDescriptor { try base.open(path, access, options: options, permissions: permissions) }
    func close(_ fd: FileDescriptor) throws(Errno) { try base.close(fd) }
    func read(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int { try base.read(fd, into: buffer) }
    func pread(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try base.pread(fd, into: buffer, at: offset)
    }
    func write(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int { try base.write(fd, buffer) }
    func pwrite(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try base.pwrite(fd, buffer, at: offset)
    }
    func fsync(_ fd: FileDescriptor) throws(Errno) { try base.fsync(fd) }
    func fdatasync(_ fd: FileDescriptor) throws(Errno) { try base.fdatasync(fd) }
    func link(_ existing: FilePath, to newPath: FilePath) throws(Errno) { try base.link(existing, to: newPath) }
    func touch(_ fd: FileDescriptor) throws(Errno) { try base.touch(fd) }
    func unlink(_ path: FilePath) throws(Errno) { try base.unlink(path) }
    func truncate(_ fd: FileDescriptor, to length: Int64) throws(Errno) { try base.truncate(fd, to: length) }
    func setPermissions(_ fd: FileDescriptor, _ permissions: FilePermissions) throws(Errno) { try base.setPermissions(fd, permissions) }
    func mkdir(_ path: FilePath, permissions: FilePermissions) throws(Errno) { try base.mkdir(path, permissions: permissions) }
    func flock(_ fd: FileDescriptor, _ operation: FileLockOperation) throws(Errno) { try base.flock(fd, operation) }
    func stat(_ path: FilePath, followSymlinks: Bool) throws(Errno) -> FileStatus { try base.stat(path, followSymlinks: followSymlinks) }
    func fstat(_ fd: FileDescriptor) throws(Errno) -> FileStatus { try base.fstat(fd) }
    func availableSpace(at path: FilePath) throws(Errno) -> Int64 { try base.availableSpace(at: path) }
    func isProcessAlive(_ pid: Int32) -> Bool { base.isProcessAlive(pid) }
    func listDirectory(_ path: FilePath) throws(Errno) -> [FilePath.Component] { try base.listDirectory(path) }
}
