import SystemPackage

/// The file-system seam: every system call DurableIO makes goes through a value of this type.
///
/// Each DurableIO object is handed a `FileSystem` when it is created (the default is ``RealFileSystem``),
/// so a test can substitute one that injects faults (`ENOSPC` on a write, `EIO` on `fsync`, short writes)
/// or simulates a power cut, without touching the code under test. There is one method per system call;
/// each reports failure as the `Errno` the call set.
///
/// Contract for implementations:
/// - `EINTR` is retried by the implementation for every call except ``close(_:)`` (on Linux the descriptor is
///   gone even when `close` reports `EINTR`; a retry could close another thread's new descriptor).
/// - ``write(_:_:)`` and ``pwrite(_:_:at:)`` may write fewer bytes than asked (a short write); callers use
///   `writeAll(_:_:)` to complete it.
/// - Every descriptor ``open(_:_:options:permissions:)`` returns is close-on-exec, whatever `options` says.
///
/// ```swift
/// let fs: any FileSystem = RealFileSystem()
/// let fd = try fs.open("/tmp/x", .writeOnly, options: [.create, .truncate], permissions: .init(rawValue: 0o644))
/// _ = try fs.writeAll(fd, Array("hello\n".utf8))
/// try fs.fsync(fd)
/// try fs.close(fd)
/// ```
public protocol FileSystem: Sendable {
    /// `open(2)`. The descriptor is always close-on-exec. `permissions` is required when `options` has `.create`.
    func open(
        _ path: FilePath, _ access: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions,
        permissions: FilePermissions?
    ) throws(Errno) -> FileDescriptor
    /// `close(2)`, never retried on `EINTR`.
    func close(_ fd: FileDescriptor) throws(Errno)
    /// `read(2)`: reads up to `buffer.count` bytes at the current offset; returns 0 at end of file.
    func read(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int
    /// `pread(2)`: reads up to `buffer.count` bytes at `offset`; returns 0 at end of file.
    func pread(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int
    /// `write(2)`: one call; may be short.
    func write(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int
    /// `pwrite(2)`: one call at `offset`; may be short.
    func pwrite(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int
    /// `fsync(2)` (on Darwin `fcntl(F_FULLFSYNC)`): data and metadata of the file reach stable storage.
    func fsync(_ fd: FileDescriptor) throws(Errno)
    /// `fdatasync(2)` (on Darwin `fcntl(F_FULLFSYNC)`): the file's data, and the metadata needed to read it back.
    func fdatasync(_ fd: FileDescriptor) throws(Errno)
    /// `rename(2)`: atomically replaces `destination` if it exists.
    func rename(_ source: FilePath, to destination: FilePath) throws(Errno)
    /// `link(2)`: a second name for `existing`; fails with `EEXIST` when `newPath` exists (never replaces).
    func link(_ existing: FilePath, to newPath: FilePath) throws(Errno)
    /// `futimens(2)` with the current time: marks the file as modified now (a lock holder's heartbeat).
    func touch(_ fd: FileDescriptor) throws(Errno)
    /// `unlink(2)`.
    func unlink(_ path: FilePath) throws(Errno)
    /// `ftruncate(2)`.
    func truncate(_ fd: FileDescriptor, to length: Int64) throws(Errno)
    /// `fchmod(2)`: sets the permission bits exactly (the creation mask does not apply).
    func setPermissions(_ fd: FileDescriptor, _ permissions: FilePermissions) throws(Errno)
    /// `mkdir(2)`.
    func mkdir(_ path: FilePath, permissions: FilePermissions) throws(Errno)
    /// `flock(2)`. With `.nonBlocking`, a held lock is reported as `EWOULDBLOCK`.
    func flock(_ fd: FileDescriptor, _ operation: FileLockOperation) throws(Errno)
    /// `stat(2)` (or `lstat(2)` when `followSymlinks` is false).
    func stat(_ path: FilePath, followSymlinks: Bool) throws(Errno) -> FileStatus
    /// `fstat(2)`.
    func fstat(_ fd: FileDescriptor) throws(Errno) -> FileStatus
    /// `statvfs(2)`: bytes available to an unprivileged writer on the file system holding `path`.
    func availableSpace(at path: FilePath) throws(Errno) -> Int64
    /// Whether a process id names a live process (`kill(pid, 0)`). Part of the seam so that a simulated reboot
    /// can declare every process of before the crash dead.
    func isProcessAlive(_ pid: Int32) -> Bool
    /// When the live process `pid` started, in seconds since 1970 (`/proc/<pid>/stat` and the boot time on
    /// Linux), or `nil` when unknown. Tells a reused pid from the process that wrote a file: a process that
    /// started after a file was last written did not write it. The default implementation knows nothing.
    func processStartTime(_ pid: Int32) -> Double?
    /// The names in a directory (`opendir` / `readdir`), without `.` and `..`, as raw bytes.
    func listDirectory(_ path: FilePath) throws(Errno) -> [FilePath.Component]
    /// This host's name (`gethostname(2)`), as lock owner records hold it. Part of the seam beside
    /// ``isProcessAlive(_:)``: whether a recorded pid can be checked at all depends on it. The default
    /// implementation asks the kernel, so a simulated file system runs on this host.
    func hostName() -> String
}

extension FileSystem {
    /// Unknown: a file system that cannot tell (a simulated one) keeps every live pid's files.
    public func processStartTime(_ pid: Int32) -> Double? { nil }

    /// The kernel's host name, `"unknown-host"` when it does not say.
    public func hostName() -> String { systemHostName() }
}

/// The operation of a `flock(2)` call.
///
/// ```swift
/// try fileSystem.flock(fd, FileLockOperation(.exclusive, nonBlocking: true))   // LOCK_EX|LOCK_NB
/// ```
public struct FileLockOperation: Hashable, Sendable, CustomStringConvertible {
    /// The kind of lock, or unlock.
    public enum Kind: Hashable, Sendable { case shared, exclusive, unlock }
    /// Shared, exclusive or unlock.
    public var kind: Kind
    /// `LOCK_NB`: fail with `EWOULDBLOCK` instead of waiting.
    public var nonBlocking: Bool

    /// Creates an operation.
    public init(_ kind: Kind, nonBlocking: Bool = false) {
        self.kind = kind
        self.nonBlocking = nonBlocking
    }

    public var description: String {
        let base: String
        switch kind {
        case .shared: base = "LOCK_SH"
        case .exclusive: base = "LOCK_EX"
        case .unlock: base = "LOCK_UN"
        }
        return nonBlocking ? base + "|LOCK_NB" : base
    }
}
