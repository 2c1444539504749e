import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The operating system's file system: the default ``FileSystem`` of every DurableIO object.
///
/// Calls go straight to the kernel (through swift-system where it has the call, else libc), with `EINTR`
/// retried for every call but `close`. Every descriptor is opened with `O_CLOEXEC`, so an item command a job
/// starts never inherits a ledger or a lock. On Darwin "sync" means `fcntl(F_FULLFSYNC)`, because plain `fsync`
/// there does not flush the drive's cache; the Darwin path compiles but is untested.
///
/// ```swift
/// let fs = RealFileSystem()
/// try AtomicFile.write(Array("v2\n".utf8), to: "config.txt", fileSystem: fs)
/// ```
public struct RealFileSystem: FileSystem {
    /// The real file system.
    public init() {}

    public func open(
        _ path: FilePath, _ access: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions,
        permissions: FilePermissions?
    ) throws(Errno) -> FileDescriptor {
        try mapErrno {
            try FileDescriptor.open(
                path, access, options: options.union(.closeOnExec), permissions: permissions, retryOnInterrupt: true)
        }
    }

    public func close(_ fd: FileDescriptor) throws(Errno) {
        try mapErrno { try fd.close() }
    }

    public func read(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try mapErrno { try fd.read(into: buffer, retryOnInterrupt: true) }
    }

    public func pread(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno)
        -> Int
    {
        try mapErrno { try fd.read(fromAbsoluteOffset: offset, into: buffer, retryOnInterrupt: true) }
    }

    public func write(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try mapErrno { try fd.write(buffer, retryOnInterrupt: true) }
    }

    public func pwrite(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try mapErrno { try fd.write(toAbsoluteOffset: offset, buffer, retryOnInterrupt: true) }
    }

    public func fsync(_ fd: FileDescriptor) throws(Errno) {
        #if canImport(Darwin)
        try retryingOnInterrupt { fcntl(fd.rawValue, F_FULLFSYNC) }
        #else
        try retryingOnInterrupt { system_fsync(fd.rawValue) }
        #endif
    }

    public func fdatasync(_ fd: FileDescriptor) throws(Errno) {
        #if canImport(Darwin)
        try retryingOnInterrupt { fcntl(fd.rawValue, F_FULLFSYNC) }
        #else
        try retryingOnInterrupt { system_fdatasync(fd.rawValue) }
        #endif
    }

    public func rename(_ source: FilePath, to destination: FilePath) throws(Errno) {
        try source.withPlatformString { from in
            destination.withPlatformString { to in
                Result { () throws(Errno) in try retryingOnInterrupt { system_rename(from, to) } }
            }
        }.get()
    }

    public func link(_ existing: FilePath, to newPath: FilePath) throws(Errno) {
        try existing.withPlatformString { from in
            newPath.withPlatformString { to in
                Result { () throws(Errno) in try retryingOnInterrupt { system_link(from, to) } }
            }
        }.get()
    }

    public func touch(_ fd: FileDescriptor) throws(Errno) {
        try retryingOnInterrupt { futimens(fd.rawValue, nil) }
    }

    public func unlink(_ path: FilePath) throws(Errno) {
        try path.withPlatformString { p in Result { () throws(Errno) in try retryingOnInterrupt { system_unlink(p) } } }
            .get()
    }

    public func truncate(_ fd: FileDescriptor, to length: Int64) throws(Errno) {
        try mapErrno { try fd.resize(to: length, retryOnInterrupt: true) }
    }

    public func setPermissions(_ fd: FileDescriptor, _ permissions: FilePermissions) throws(Errno) {
        try retryingOnInterrupt { fchmod(fd.rawValue, mode_t(permissions.rawValue)) }
    }

    public func mkdir(_ path: FilePath, permissions: FilePermissions) throws(Errno) {
        try path.withPlatformString { p in
            Result { () throws(Errno) in try retryingOnInterrupt { system_mkdir(p, mode_t(permissions.rawValue)) } }
        }.get()
    }

    public func flock(_ fd: FileDescriptor, _ operation: FileLockOperation) throws(Errno) {
        var op: Int32
        switch operation.kind {
        case .shared: op = LOCK_SH
        case .exclusive: op = LOCK_EX
        case .unlock: op = LOCK_UN
        }
        if operation.nonBlocking { op |= LOCK_NB }
        try retryingOnInterrupt { system_flock(fd.rawValue, op) }
    }

    public func stat(_ path: FilePath, followSymlinks: Bool) throws(Errno) -> FileStatus {
        FileStatus(try Stat(path, followTargetSymlink: followSymlinks, retryOnInterrupt: true))
    }

    public func fstat(_ fd: FileDescriptor) throws(Errno) -> FileStatus {
        FileStatus(try Stat(fd, retryOnInterrupt: true))
    }

    public func availableSpace(at path: FilePath) throws(Errno) -> Int64 {
        var info = statvfs()
        try path.withPlatformString { p in
            Result { () throws(Errno) in try retryingOnInterrupt { statvfs(p, &info) } }
        }.get()
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    public func isProcessAlive(_ pid: Int32) -> Bool { ProcessLiveness.isAlive(pid) }

    public func processStartTime(_ pid: Int32) -> Double? { ProcessIdentity.startSeconds(of: pid) }

    public func listDirectory(_ path: FilePath) throws(Errno) -> [FilePath.Component] {
        guard let dir = path.withPlatformString({ opendir($0) }) else { throw Errno(rawValue: errno) }
        defer { closedir(dir) }
        var names: [FilePath.Component] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw Errno(rawValue: errno) }
                return names
            }
            // Read the name in place: `readdir` returns variable-length records, sized to the name, so copying the
            // `dirent` struct (`entry.pointee`) reads past the end of a short record — off the end of the buffer
            // when the record is its last.
            let bytes = Self.nameBytes(of: entry)
            if bytes == [UInt8(ascii: ".")] || bytes == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            // Built from the raw bytes, so a name that is not UTF-8 survives unchanged.
            names.append(FilePath.Component(platformBytes: bytes))
        }
    }

    /// The bytes of a directory entry's name, read through a pointer to its `d_name` field (never by copying the
    /// record, which is shorter than `dirent` when the name is).
    private static func nameBytes(of entry: UnsafeMutablePointer<dirent>) -> [UInt8] {
        let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let name = UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: CChar.self)
        let length = strlen(name)
        return Array(UnsafeRawBufferPointer(start: name, count: length))
    }
}

// MARK: - Plumbing

/// Runs a swift-system call and rethrows its error as the `Errno` it is.
@inline(__always)
func mapErrno<T>(_ body: () throws -> T) throws(Errno) -> T {
    do { return try body() } catch let error as Errno { throw error } catch { throw Errno.ioError }
}

/// Calls a libc function that returns -1 and sets `errno` on failure, retrying on `EINTR`.
@inline(__always)
func retryingOnInterrupt(_ call: () -> Int32) throws(Errno) {
    while true {
        if call() != -1 { return }
        let code = errno
        if code == EINTR { continue }
        throw Errno(rawValue: code)
    }
}

#if !canImport(Darwin)
private let system_fsync: @convention(c) (Int32) -> Int32 = { Glibc.fsync($0) }
private let system_fdatasync: @convention(c) (Int32) -> Int32 = { Glibc.fdatasync($0) }
#endif
private func system_rename(_ a: UnsafePointer<CChar>, _ b: UnsafePointer<CChar>) -> Int32 { rename(a, b) }
private func system_link(_ a: UnsafePointer<CChar>, _ b: UnsafePointer<CChar>) -> Int32 { link(a, b) }
private func system_unlink(_ p: UnsafePointer<CChar>) -> Int32 { unlink(p) }
private func system_mkdir(_ p: UnsafePointer<CChar>, _ m: mode_t) -> Int32 { mkdir(p, m) }
private func system_flock(_ fd: Int32, _ op: Int32) -> Int32 { flock(fd, op) }

/// `gethostname(2)`: the one place DurableIO asks for the host name (``FileSystem/hostName()``).
func systemHostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "unknown-host" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension FileStatus {
    init(_ s: Stat) {
        let kind: Kind
        switch s.type {
        case .regular: kind = .regular
        case .directory: kind = .directory
        case .symbolicLink: kind = .symbolicLink
        default: kind = .other
        }
        self.init(
            size: s.size, permissions: s.permissions, kind: kind, device: UInt64(s.deviceID.rawValue),
            inode: UInt64(s.inode.rawValue), modificationSeconds: Int64(s.st_mtim.tv_sec),
            modificationNanoseconds: Int64(s.st_mtim.tv_nsec))
    }
}
