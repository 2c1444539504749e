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
/// **Reclaim, release, clean-up: only under a reclaim guard.** A lock file leaves the lock path in one way only
/// (`LockFileReclaim`): take the guard `<lock>.reclaim-<device>-<inode>-<k>` for that very file with `O_EXCL` (a
/// dead holder's guard is never reused: the next generation k+1 is taken; a release waits while a live process
/// holds it), inspect the path again under the guard and compare (device, inode, content, mtime), rename it to a
/// unique tombstone, compare again, unlink. A file that is not the one expected is never put back and never deleted.
///
/// **Heartbeat.** A holder touches its lock file's mtime every ``Options/refreshInterval`` (a thread of its own)
/// and checks that the path still names its file; the stale age must be at least three refresh intervals.
/// Release stops the thread and waits for it before it touches the file.
///
/// **What is promised.** Exclusive on proof of death for any number of contenders: reclaiming the lock of a
/// holder that is provably dead never gives two live holders (model-checked with SPIN, `Documentation/model/`).
/// Age-based reclaim (an unreadable record, a foreign host with ``Options/foreignHostStaleAge``) can take the lock
/// of a holder paused past the stale age; that holder always finds out, at its next refresh (``isCompromised``) or
/// at release (``DurableIOError/Code/lockCompromised``), and every acquisition's ``token`` is larger than the one
/// before, so what it writes can be fenced. Release never removes another holder's file.
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
    private var reclaim: LockFileReclaim { LockFileReclaim(path: path, fileSystem: fileSystem, isStale: { [self] in isStale($0) }) }

    private final class Held: Sendable {
        let fd: FileDescriptor
        let identity: FileIdentity
        let owner: LockOwner
        let compromised = Atomic<Bool>(false)
        /// Signalled once, at release: ends the heartbeat at once.
        let stop = DispatchSemaphore(value: 0)
        /// Signalled by the heartbeat thread as it ends.
        let ended = DispatchSemaphore(value: 0)
        /// Whether the heartbeat has been stopped (and waited for).
        let stopped = Mutex(false)
        init(fd: FileDescriptor, identity: FileIdentity, owner: LockOwner) {
            self.fd = fd
            self.identity = identity
            self.owner = owner
        }

        /// The file as this holder made it: what release expects at the path (the mtime moves with the heartbeat).
        var snapshot: Snapshot { Snapshot(identity: identity, content: owner.encoded) }

        /// Ends the heartbeat and waits until its thread has finished, once: after this, nothing touches the
        /// descriptor or judges the path but the caller.
        func stopHeartbeat() {
            stopped.withLock { isStopped in
                guard !isStopped else { return }
                isStopped = true
                stop.signal()
                ended.wait()
            }
        }

        /// Stops the heartbeat, then closes the descriptor.
        func close(_ fileSystem: any FileSystem) {
            stopHeartbeat()
            try? fileSystem.close(fd)
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
                switch try reclaim.remove(expected: seen, matchMtime: true) {
                case .removed, .changed: continue  // the stale file is gone (or was never there again): create
                case .busy: return false  // another process is removing it right now
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
            current.stopHeartbeat()
            // The descriptor stays open until the file is gone: its inode cannot be reused meanwhile.
            defer { current.close(fileSystem) }
            let outcome = try reclaim.remove(expected: current.snapshot, matchMtime: false, patience: guardPatience)
            if outcome == .busy {
                throw DurableIOError(
                    .lockCompromised, operation: "release lock", path: path,
                    message: "another process has been removing this lock file for longer than the stale age (\(Int(options.staleAge.seconds)) s); the file was left at the path",
                    hint: "That process may be paused, or this lock taken by age while this one held it: check the output, using the fencing tokens. The lock file names this process; it is reclaimed once this process exits.")
            }
            if outcome != .removed || current.compromised.load(ordering: .relaxed) {
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
            // Remove the half-made lock file, under its guard: only if the path still names it, never another
            // holder's file (ours may have been reclaimed by age meanwhile). The descriptor pins the inode until then.
            if let mine = halfMade(fd) { _ = try? reclaim.remove(expected: mine, matchMtime: false, patience: guardPatience) }
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
            let text: [UInt8]
            do { text = try fileSystem.read(fd, upTo: 64, at: 0) } catch { throw DurableIOError.syscall("read", path: fence, error) }
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

    /// How long removing our own file waits while a live process holds its reclaim guard (a late remover of a previous
    /// file at the same inode holds it for a few system calls): past the stale age, so that a guard whose creator died
    /// before writing its record is stale by then too.
    private var guardPatience: Duration { options.staleAge + .seconds(1) }

    /// What is at the lock path now: its identity and content; `nil` when nothing is there.
    private func inspect() -> Snapshot? { reclaim.snapshot(of: path) }

    /// Our half-made lock file as it is now, read through its descriptor.
    private func halfMade(_ fd: FileDescriptor) -> Snapshot? {
        guard let status = try? fileSystem.fstat(fd) else { return nil }
        let content = (try? fileSystem.read(fd, upTo: 4096, at: 0)) ?? []
        return Snapshot(identity: FileIdentity(status), content: content)
    }

    private func isStale(_ seen: Snapshot) -> Bool {
        let age = Duration.seconds(Date().timeIntervalSince1970 - seen.identity.modified)
        guard let owner = LockOwner.decode(seen.content) else { return age > options.staleAge }
        if owner.host == ProcessIdentity.host { return owner.isProvablyDead(on: fileSystem) }
        if let foreign = options.foreignHostStaleAge { return age > foreign }
        return false
    }

    /// Touches the lock file every refresh interval and checks the path still names it (the descriptor is open
    /// until release has stopped this thread, so the inode cannot have been reused).
    private func startHeartbeat(_ held: Held) {
        let interval = options.refreshInterval.seconds
        let path = self.path
        let fileSystem = self.fileSystem
        let thread = Thread {
            defer { held.ended.signal() }
            while held.stop.wait(timeout: .now() + interval) == .timedOut {
                guard let now = try? fileSystem.stat(path, followSymlinks: false),
                    FileIdentity(now).inode == held.identity.inode, FileIdentity(now).device == held.identity.device
                else {
                    held.compromised.store(true, ordering: .relaxed)
                    return
                }
                try? fileSystem.touch(held.fd)
            }
        }
        thread.name = "DurableIO lock heartbeat"
        thread.start()
    }
}
