import Foundation
import Synchronization
import SystemPackage

/// A lock that is the existence of a file, created with `O_EXCL`: for file systems where `flock` cannot be
/// trusted (some NFS mounts). Prefer ``FileLock`` everywhere else: a `LockFile` can go stale.
///
/// **Acquire.** Create the lock file with `O_CREAT | O_EXCL | O_NOFOLLOW`, write the ``LockOwner`` record with
/// the next fencing token (kept in `<lock>.fence`), fsync the file and the directory. Only one creator can win.
///
/// **Stale.** An existing lock is stale only on proof: its owner is on this host and its pid is dead, or alive
/// with another process start time (pid reuse). A lock on another host is never judged on age unless
/// ``Options/foreignHostStaleAge`` is set. A lock whose content cannot be read as a record (a holder killed
/// between create and write) is stale once its mtime is older than ``Options/staleAge``.
///
/// **Reclaim.** Rename the stale file to a unique tombstone (`<lock>.stale-<pid>-<random>`): of two reclaimers
/// only one rename moves it. Then compare the tombstone's inode, mtime and content with what was judged stale.
/// If they match, delete it and try the `O_EXCL` create again (where again only one wins). If not, the rename
/// moved a *new* lock someone created meanwhile: put it back with `link` (which never replaces) and report the
/// lock as held.
///
/// **Heartbeat.** A holder touches its lock file's mtime every ``Options/refreshInterval`` (a thread of its own)
/// and checks that the path still names its file; the stale age must be at least three refresh intervals.
///
/// **What is promised.** Reclaim on proof of death is safe against two racing reclaimers; a SPIN model of this
/// algorithm (`Documentation/model/`) finds two live holders when three or more processes race for one stale
/// lock — prefer ``FileLock`` wherever `flock` works, and fence writes with ``token``. Age-based reclaim can take the lock of a holder that
/// was paused longer than the stale age (SIGSTOP, a frozen VM); that holder finds out at its next refresh or at
/// release (``DurableIOError/Code/lockCompromised``), and every acquisition's ``token`` is larger than the one
/// before, so what it writes can be fenced. Release never deletes another holder's file.
///
/// Safe to use from many tasks: the handle's state is behind a mutex, and one handle holds at most once.
///
/// ```swift
/// let lock = LockFile(at: "/mnt/nfs/run-42.lock", options: .init(staleAge: .seconds(120)))
/// try await lock.withLock(timeout: .seconds(30)) { try await work(token: lock.token!) }
/// ```
public final class LockFile: ProcessLock {
    /// Ages and intervals.
    public struct Options: Sendable {
        /// A lock file whose content is not a record is stale when its mtime is older than this. Default 60 s.
        public var staleAge: Duration
        /// A lock held on another host is stale when older than this; `nil` (the default) never.
        public var foreignHostStaleAge: Duration?
        /// How often a holder touches its lock file. Default 10 s; at most a third of every stale age.
        public var refreshInterval: Duration

        /// Creates options.
        public init(staleAge: Duration = .seconds(60), foreignHostStaleAge: Duration? = nil, refreshInterval: Duration = .seconds(10)) {
            self.staleAge = staleAge
            self.foreignHostStaleAge = foreignHostStaleAge
            self.refreshInterval = refreshInterval
        }
    }

    public let path: FilePath
    /// The options of this handle.
    public let options: Options
    private let fileSystem: any FileSystem
    private let state = Mutex<Held?>(nil)

    private final class Held: Sendable {
        let fd: FileDescriptor
        let identity: FileIdentity
        let owner: LockOwner
        let compromised = Atomic<Bool>(false)
        /// Signalled once, at release: ends the heartbeat at once.
        let stop = DispatchSemaphore(value: 0)
        /// Whether the descriptor is closed. The heartbeat checks and touches only under this lock, so it never
        /// touches a closed (maybe reused) descriptor, nor flags a release in progress as compromised.
        let closed = Mutex(false)
        init(fd: FileDescriptor, identity: FileIdentity, owner: LockOwner) {
            self.fd = fd
            self.identity = identity
            self.owner = owner
        }

        /// Ends the heartbeat and closes the descriptor, once.
        func close(_ fileSystem: any FileSystem) {
            stop.signal()
            closed.withLock { isClosed in
                if !isClosed { try? fileSystem.close(fd) }
                isClosed = true
            }
        }
    }

    /// A handle on the lock file at `path`.
    public init(at path: FilePath, options: Options = Options(), fileSystem: any FileSystem = RealFileSystem()) {
        self.path = path
        self.options = options
        self.fileSystem = fileSystem
    }

    deinit {
        if let held = state.withLock({ $0 }) { held.close(fileSystem) }
    }

    public var token: Int? { state.withLock { $0?.owner.token } }

    /// Whether the lock was found taken from this handle at a refresh.
    public var isCompromised: Bool { state.withLock { $0?.compromised.load(ordering: .relaxed) ?? false } }

    public func tryAcquire() throws -> Bool {
        try validate()
        if (try? fileSystem.stat(path, followSymlinks: false))?.kind == .symbolicLink {
            throw DurableIOError(
                .invalidInput, operation: "acquire lock", path: path,
                message: "the lock path is a symbolic link; refusing to follow or judge it",
                hint: "Remove the link; a lock file must be a regular file.")
        }
        return try state.withLock { (held) throws(DurableIOError) -> Bool in
            if held != nil {
                throw DurableIOError(
                    .lockAlreadyHeld, operation: "acquire lock", path: path, message: "this handle already holds the lock; release it first")
            }
            for _ in 0..<8 {
                if let acquired = try create() {
                    held = acquired
                    startHeartbeat(acquired)
                    return true
                }
                guard let seen = inspect() else { continue }  // vanished: try to create again
                guard isStale(seen) else { return false }
                switch try moveAside(expected: seen) {
                case .moved: continue  // the stale file is gone: create again
                case .changed: return false  // someone else got there first
                }
            }
            return false
        }
    }

    public func release() throws {
        try state.withLock { (held) throws(DurableIOError) in
            guard let current = held else {
                throw DurableIOError(.lockNotHeld, operation: "release lock", path: path, message: "this handle does not hold the lock")
            }
            held = nil
            current.close(fileSystem)
            let mine = Snapshot(identity: current.identity, content: current.owner.encoded)
            let outcome = try moveAside(expected: mine, matchMtime: false)
            if outcome == .changed || current.compromised.load(ordering: .relaxed) {
                throw DurableIOError(
                    .lockCompromised, operation: "release lock", path: path,
                    message: "the lock was reclaimed by another process while this one held it; its lock file was left alone",
                    hint: "Another process may have worked at the same time: check the output, using the fencing tokens.")
            }
        }
    }

    public func currentHolder() -> LockOwner? { inspect().flatMap { LockOwner.decode($0.content) } }

    public func describeHolder() -> String {
        guard let seen = inspect() else { return "nobody (the lock file is gone)" }
        if let owner = LockOwner.decode(seen.content) { return owner.description }
        let age = Int(Date().timeIntervalSince1970 - seen.identity.modified)
        return "an unreadable lock record (\(age) s old; reclaimed once older than \(Int(options.staleAge.seconds)) s)"
    }

    // MARK: Steps

    private func validate() throws(DurableIOError) {
        let ages = [options.staleAge] + (options.foreignHostStaleAge.map { [$0] } ?? [])
        guard ages.allSatisfy({ $0 >= options.refreshInterval * 3 }) else {
            throw DurableIOError(
                .invalidInput, operation: "acquire lock", path: path,
                message: "every stale age must be at least 3 × the refresh interval (\(options.refreshInterval)), or a live holder could look stale")
        }
    }

    /// `O_EXCL` create; `nil` when the file exists.
    private func create() throws(DurableIOError) -> Held? {
        let fd: FileDescriptor
        do {
            fd = try fileSystem.open(path, .readWrite, options: [.create, .exclusiveCreate, .noFollow], permissions: FilePermissions(rawValue: 0o644))
        } catch .fileExists {
            return nil
        } catch {
            throw DurableIOError.syscall("create lock file", path: path, error)
        }
        do {
            let owner = LockOwner.current(token: try nextToken())
            try fileSystem.writeAll(fd, owner.encoded)
            try fileSystem.fsync(fd)
            try fileSystem.syncDirectory(path.parentDirectory)
            let identity = FileIdentity(try fileSystem.fstat(fd))
            return Held(fd: fd, identity: identity, owner: owner)
        } catch {
            // Remove the half-made lock file, but only if the path still names it.
            if let mine = try? fileSystem.fstat(fd).inode, (try? fileSystem.stat(path, followSymlinks: false))?.inode == mine {
                try? fileSystem.unlink(path)
            }
            try? fileSystem.close(fd)
            if let error = error as? DurableIOError { throw error }
            throw DurableIOError.syscall("write lock file", path: path, error as? Errno ?? .ioError)
        }
    }

    /// The next fencing token: `<lock>.fence` + 1, written atomically while we hold the lock.
    private func nextToken() throws -> Int {
        let fence = path.appendingToName(".fence")
        var previous = 0
        do {
            let fd = try fileSystem.open(fence, .readOnly, options: [.noFollow], permissions: nil)
            defer { try? fileSystem.close(fd) }
            let text = try LineFile(fileSystem: fileSystem, fd: fd, path: fence).read(at: 0, count: 64)
            guard let value = Int(String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw DurableIOError(
                    .invalidInput, operation: "read fencing token", path: fence,
                    message: "the fence file does not hold a number; refusing to issue a token that may not be larger than the last",
                    hint: "Restore it, or write a number larger than any token issued so far.")
            }
            previous = value
        } catch Errno.noSuchFileOrDirectory {
            previous = 0  // the first acquisition of this lock
        }
        try AtomicFile.write("\(previous + 1)\n", to: fence, fileSystem: fileSystem)
        return previous + 1
    }

    /// What is at the lock path now: its identity and content; `nil` when nothing is there.
    private func inspect() -> Snapshot? { snapshot(of: path) }

    private func snapshot(of file: FilePath) -> Snapshot? {
        guard let fd = try? fileSystem.open(file, .readOnly, options: [.noFollow], permissions: nil) else { return nil }
        defer { try? fileSystem.close(fd) }
        guard let status = try? fileSystem.fstat(fd) else { return nil }
        let content = (try? LineFile(fileSystem: fileSystem, fd: fd, path: file).read(at: 0, count: 4096)) ?? []
        return Snapshot(identity: FileIdentity(status), content: content)
    }

    private func isStale(_ seen: Snapshot) -> Bool {
        let age = Duration.seconds(Date().timeIntervalSince1970 - seen.identity.modified)
        guard let owner = LockOwner.decode(seen.content) else { return age > options.staleAge }
        if owner.host == ProcessIdentity.host { return owner.isProvablyDead(on: fileSystem) }
        if let foreign = options.foreignHostStaleAge { return age > foreign }
        return false
    }

    private enum MoveOutcome { case moved, changed }

    /// Renames the lock file to a unique tombstone and deletes it if it is the file `expected` describes;
    /// otherwise puts it back (`link`, never replacing) and reports `.changed`.
    private func moveAside(expected: Snapshot, matchMtime: Bool = true) throws(DurableIOError) -> MoveOutcome {
        let tombstone = path.appendingToName(".stale-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: .min ... .max))")
        do { try fileSystem.rename(path, to: tombstone) } catch .noSuchFileOrDirectory {
            return .changed
        } catch {
            throw DurableIOError.syscall("rename stale lock", path: path, error)
        }
        let moved = snapshot(of: tombstone)
        let same = moved.map { m in
            m.identity.device == expected.identity.device && m.identity.inode == expected.identity.inode
                && m.content == expected.content && (!matchMtime || m.identity.modified == expected.identity.modified)
        } ?? false
        if !same {
            try? fileSystem.link(tombstone, to: path)  // put the other holder's lock back; fails if a new one exists
        }
        try? fileSystem.unlink(tombstone)
        try? fileSystem.syncDirectory(path.parentDirectory)
        return same ? .moved : .changed
    }

    /// Touches the lock file every refresh interval and checks the path still names it.
    private func startHeartbeat(_ held: Held) {
        let interval = options.refreshInterval.seconds
        let path = self.path
        let fileSystem = self.fileSystem
        let thread = Thread {
            while held.stop.wait(timeout: .now() + interval) == .timedOut {
                let keepGoing = held.closed.withLock { isClosed -> Bool in
                    if isClosed { return false }  // released meanwhile: nothing to check
                    guard let now = try? fileSystem.stat(path, followSymlinks: false),
                        FileIdentity(now).inode == held.identity.inode, FileIdentity(now).device == held.identity.device
                    else {
                        held.compromised.store(true, ordering: .relaxed)
                        return false
                    }
                    try? fileSystem.touch(held.fd)
                    return true
                }
                if !keepGoing { return }
            }
        }
        thread.name = "DurableIO lock heartbeat"
        thread.start()
    }
}

/// Which file, and when it was last modified.
struct FileIdentity: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
    /// Seconds since 1970, with nanoseconds.
    var modified: Double

    init(_ status: FileStatus) {
        device = status.device
        inode = status.inode
        modified = Double(status.modificationSeconds) + Double(status.modificationNanoseconds) / 1e9
    }
}

/// A lock file as seen at one moment.
struct Snapshot: Sendable {
    var identity: FileIdentity
    var content: [UInt8]
}
