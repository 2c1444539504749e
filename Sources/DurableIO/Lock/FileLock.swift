import Foundation
import Synchronization
import SystemPackage

/// An advisory lock held with `flock(2)` on a lock file: the default, because it cannot go stale — the kernel
/// releases it when its holder dies, even by `kill -9`.
///
/// `flock`, not POSIX `fcntl` record locks (dropped when the process closes *any* descriptor of the file). The
/// lock file is never deleted, so a waiter never ends up locking an unlinked inode; after taking the lock the
/// handle checks that the path still names the inode it locked, and retries if not. The path must not be a
/// symbolic link (`O_NOFOLLOW`). The descriptor is close-on-exec: a child never inherits the lock, and a
/// child's exit never releases it.
///
/// An exclusive holder writes its ``LockOwner`` record into the lock file after taking the lock (readers
/// tolerate an empty or partial record) with a fencing ``token`` one larger than the previous holder's.
///
/// Safe to use from many tasks: the handle's state is behind a mutex. One handle holds at most once; a second
/// handle in the same process conflicts like another process (`flock` locks belong to the open file).
/// On NFS, `flock` is emulated with byte-range locks on some clients and not at all on others: use ``LockFile``
/// there.
///
/// ```swift
/// let lock = FileLock(at: "features.jsonl.lock")
/// guard try lock.tryAcquire() else {
///     print("busy: \(lock.currentHolder().map(String.init(describing:)) ?? "unknown holder")")
///     return
/// }
/// defer { try? lock.release() }
/// ```
public final class FileLock: ProcessLock {
    /// Exclusive (one holder) or shared (many readers, no exclusive holder).
    public enum Mode: Sendable { case exclusive, shared }

    public let path: FilePath
    /// The mode of this handle.
    public let mode: Mode
    let fileSystem: any FileSystem
    private let state = Mutex<Held?>(nil)

    private struct Held {
        var fd: FileDescriptor
        var inode: UInt64
        var owner: LockOwner?
    }

    /// A handle on the lock file at `path` (created when first acquired).
    public init(at path: FilePath, mode: Mode = .exclusive, fileSystem: any FileSystem = RealFileSystem()) {
        self.path = path
        self.mode = mode
        self.fileSystem = fileSystem
    }

    deinit {
        if let held = state.withLock({ $0 }) { try? fileSystem.close(held.fd) }
    }

    public var token: Int? { state.withLock { $0?.owner?.token } }

    public func tryAcquire() throws -> Bool {
        try state.withLock { (held) throws(DurableIOError) -> Bool in
            if held != nil {
                throw DurableIOError(
                    .lockAlreadyHeld, operation: "acquire lock", path: path,
                    message: "this handle already holds the lock; release it first")
            }
            for _ in 0..<8 {
                let fd = try openLockFile()
                do throws(Errno) {
                    try fileSystem.flockAllowingHandover(fd, FileLockOperation(mode == .exclusive ? .exclusive : .shared, nonBlocking: true))
                } catch .wouldBlock {
                    try? fileSystem.close(fd)
                    return false
                } catch {
                    try? fileSystem.close(fd)
                    throw DurableIOError.syscall("flock", path: path, error)
                }
                // The path may have been removed or replaced between open and flock: then our lock guards nothing.
                let inode: UInt64
                do throws(Errno) { inode = try fileSystem.fstat(fd).inode } catch {
                    try? fileSystem.close(fd)
                    throw DurableIOError.syscall("fstat", path: path, error)
                }
                guard (try? fileSystem.stat(path, followSymlinks: false))?.inode == inode else {
                    try? fileSystem.close(fd)
                    continue
                }
                var owner: LockOwner?
                if mode == .exclusive {
                    do throws(DurableIOError) { owner = try writeOwner(fd) } catch {
                        try? fileSystem.close(fd)
                        throw error
                    }
                }
                held = Held(fd: fd, inode: inode, owner: owner)
                return true
            }
            throw DurableIOError(
                .systemCall, operation: "acquire lock", path: path,
                message: "the lock file was replaced 8 times while locking it; something is deleting it")
        }
    }

    public func release() throws {
        try state.withLock { (held) throws(DurableIOError) in
            guard let current = held else {
                throw DurableIOError(
                    .lockNotHeld, operation: "release lock", path: path, message: "this handle does not hold the lock")
            }
            held = nil
            let stillOurs = (try? fileSystem.stat(path, followSymlinks: false))?.inode == current.inode
            try? fileSystem.flock(current.fd, FileLockOperation(.unlock))
            do throws(Errno) { try fileSystem.close(current.fd) } catch { throw DurableIOError.syscall("close", path: path, error) }
            if !stillOurs {
                throw DurableIOError(
                    .lockCompromised, operation: "release lock", path: path,
                    message: "the lock file was deleted or replaced while this process held it; another process may have worked at the same time",
                    hint: "Check the output for concurrent writes. Never delete a lock file while its job runs.")
            }
        }
    }

    public func currentHolder() -> LockOwner? { Self.holder(of: path, fileSystem: fileSystem) }

    /// The exclusive holder's record of the lock at `path`, or `nil` when nobody holds it exclusively.
    ///
    /// Whether it is held is asked of the kernel (a momentary non-blocking shared lock), not read from the record,
    /// which stays behind after a release.
    public static func holder(of path: FilePath, fileSystem: any FileSystem = RealFileSystem()) -> LockOwner? {
        exclusiveHolder(of: path, fileSystem: fileSystem)?.record
    }

    private func openLockFile() throws(DurableIOError) -> FileDescriptor {
        do {
            return try fileSystem.open(
                path, .readWrite, options: [.create, .noFollow], permissions: FilePermissions(rawValue: 0o644))
        } catch .tooManySymbolicLinkLevels {
            throw DurableIOError(
                .invalidInput, operation: "open lock file", path: path, errno: .tooManySymbolicLinkLevels,
                message: "the lock path is a symbolic link; refusing to follow it",
                hint: "Remove the link; a lock file must be a regular file.")
        } catch {
            throw DurableIOError.syscall("open lock file", path: path, error)
        }
    }

    /// Writes this acquisition's record with the next fencing token (the previous record's token + 1).
    private func writeOwner(_ fd: FileDescriptor) throws(DurableIOError) -> LockOwner {
        let previous = LockOwner.decode((try? fileSystem.read(fd, upTo: 4096, at: 0)) ?? [])
        let owner = LockOwner.current(token: (previous?.token ?? 0) + 1)
        let bytes = owner.encoded
        do throws(Errno) {
            try fileSystem.truncate(fd, to: 0)
            let written = try bytes.withUnsafeBytes { b in Result { () throws(Errno) in try fileSystem.pwrite(fd, b, at: 0) } }.get()
            if written != bytes.count { throw Errno.noSpace }
            try fileSystem.fdatasync(fd)
        } catch {
            throw DurableIOError.syscall("write lock owner", path: path, error)
        }
        return owner
    }
}
