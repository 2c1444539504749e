import DurableIO
import Foundation
import Synchronization
import SystemPackage
import Testing

/// The real file system, with hooks a test sets to act at one system call of a `LockFile` (another process's move,
/// a fault), and a log of the descriptors it has open.
final class HookedFileSystem: FileSystem, @unchecked Sendable {
    private let base = RealFileSystem()
    private let lock = NSLock()
    /// Runs before `write` on a descriptor; throwing fails the call.
    var beforeWrite: (@Sendable (FileDescriptor) throws(Errno) -> Void)?
    /// Runs before `rename(source:)` and `unlink`, with the path.
    var beforeRemove: (@Sendable (FilePath) -> Void)?
    /// Runs before `stat`, on the calling thread.
    var beforeStat: (@Sendable (FilePath) -> Void)?
    private var open = Set<Int32>()
    private var misuse: [String] = []

    /// Calls on a descriptor that was not open (closed, maybe reused) at the time.
    var misuses: [String] { lock.withLock { misuse } }

    private func checkOpen(_ fd: FileDescriptor, _ call: String) {
        lock.withLock { if !open.contains(fd.rawValue) { misuse.append("\(call)(\(fd.rawValue)) on a descriptor that was closed") } }
    }

    func open(
        _ path: FilePath, _ access: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions, permissions: FilePermissions?
    ) throws(Errno) -> FileDescriptor {
        let fd = try base.open(path, access, options: options, permissions: permissions)
        lock.withLock { _ = open.insert(fd.rawValue) }
        return fd
    }
    func close(_ fd: FileDescriptor) throws(Errno) {
        checkOpen(fd, "close")
        lock.withLock { _ = open.remove(fd.rawValue) }
        try base.close(fd)
    }
    func read(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int { try base.read(fd, into: buffer) }
    func pread(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try base.pread(fd, into: buffer, at: offset)
    }
    func write(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try beforeWrite?(fd)
        return try base.write(fd, buffer)
    }
    func pwrite(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try beforeWrite?(fd)
        return try base.pwrite(fd, buffer, at: offset)
    }
    func fsync(_ fd: FileDescriptor) throws(Errno) { try base.fsync(fd) }
    func fdatasync(_ fd: FileDescriptor) throws(Errno) { try base.fdatasync(fd) }
    func rename(_ source: FilePath, to destination: FilePath) throws(Errno) {
        beforeRemove?(source)
        try base.rename(source, to: destination)
    }
    func link(_ existing: FilePath, to newPath: FilePath) throws(Errno) { try base.link(existing, to: newPath) }
    func touch(_ fd: FileDescriptor) throws(Errno) {
        checkOpen(fd, "touch")
        try base.touch(fd)
    }
    func unlink(_ path: FilePath) throws(Errno) {
        beforeRemove?(path)
        try base.unlink(path)
    }
    func truncate(_ fd: FileDescriptor, to length: Int64) throws(Errno) { try base.truncate(fd, to: length) }
    func setPermissions(_ fd: FileDescriptor, _ permissions: FilePermissions) throws(Errno) { try base.setPermissions(fd, permissions) }
    func mkdir(_ path: FilePath, permissions: FilePermissions) throws(Errno) { try base.mkdir(path, permissions: permissions) }
    func flock(_ fd: FileDescriptor, _ operation: FileLockOperation) throws(Errno) { try base.flock(fd, operation) }
    func stat(_ path: FilePath, followSymlinks: Bool) throws(Errno) -> FileStatus {
        beforeStat?(path)
        return try base.stat(path, followSymlinks: followSymlinks)
    }
    func fstat(_ fd: FileDescriptor) throws(Errno) -> FileStatus { try base.fstat(fd) }
    func availableSpace(at path: FilePath) throws(Errno) -> Int64 { try base.availableSpace(at: path) }
    func isProcessAlive(_ pid: Int32) -> Bool { base.isProcessAlive(pid) }
    func listDirectory(_ path: FilePath) throws(Errno) -> [FilePath.Component] { try base.listDirectory(path) }
}

/// The model README's "Other observations": what the heartbeat may do during a release, and what `create()`'s error
/// path may remove.
@Suite("LockFile heartbeat and clean-up", .ownThreads, .inATestSlot)
struct LockFileSeamTests {
    /// The heartbeat is caught in the middle of its check (inside `stat`) when release starts. It is held there until
    /// release renames the lock file aside (or, when release waits for it as it should, for a second): a heartbeat
    /// that ran on during release would see the path empty and flag the lock compromised, and touch a descriptor
    /// release had closed.
    @Test func aHeartbeatCaughtMidCheckNeitherFlagsTheReleaseNorTouchesAClosedDescriptor() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let fs = HookedFileSystem()
        let inStat = DispatchSemaphore(value: 0)
        let renamed = DispatchSemaphore(value: 0)
        let caught = Atomic<Bool>(false)
        let testThread = UInt(pthread_self())  // the heartbeat is the only other thread that stats the path
        fs.beforeStat = { statPath in
            guard statPath == path, UInt(pthread_self()) != testThread,
                caught.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
            else { return }
            inStat.signal()
            _ = renamed.wait(timeout: .now() + 1)
        }
        fs.beforeRemove = { removed in if removed == path { renamed.signal() } }
        let lock = LockFile(at: path, options: .init(staleAge: .milliseconds(300), refreshInterval: .milliseconds(100)), fileSystem: fs)
        #expect(try lock.tryAcquire())
        #expect(inStat.wait(timeout: .now() + 30) == .success, "the heartbeat ran")
        #expect(throws: Never.self) { try lock.release() }
        #expect(fs.misuses.isEmpty, "\(fs.misuses)")
        #expect(!FileManager.default.fileExists(atPath: path.string))
    }

    /// The model's finding 4 (`age-n3-release`), in one process: a reclaimer judges the holder's lock file stale by
    /// age while it is still empty (the holder paused between its create and its record write), and is held just
    /// before its rename. The holder writes its record, enters, and releases; the reclaimer then renames the holder's
    /// file aside (not the empty one it judged: left under its tombstone) and creates a lock of its own. The holder's
    /// release must not take that new lock off the path: it waits for the reclaimer's guard (one key for the file,
    /// empty or written), finds the path changed, and reports `lockCompromised`. With a guard key that changed with
    /// the content, the release took its own guard, and its rename moved the reclaimer's new lock aside.
    @Test func aReleaseNeverRemovesTheLockOfAReclaimerThatJudgedItsFileEmpty() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let options = LockFile.Options(staleAge: .seconds(30), refreshInterval: .seconds(5))
        let reclaimerFS = HookedFileSystem()
        let reclaimer = LockFile(at: path, options: options, fileSystem: reclaimerFS)
        let reclaimerAtRename = DispatchSemaphore(value: 0)
        let reclaimerGo = DispatchSemaphore(value: 0)
        let reclaimerDone = DispatchSemaphore(value: 0)
        let reclaimerHeld = Atomic<Bool>(false)
        let reclaimerPaused = Atomic<Bool>(false)
        reclaimerFS.beforeRemove = { removed in
            guard removed == path, !reclaimerPaused.exchange(true, ordering: .relaxed) else { return }
            reclaimerAtRename.signal()
            _ = reclaimerGo.wait(timeout: .now() + 60)
        }
        let holderFS = HookedFileSystem()
        let holder = LockFile(at: path, options: options, fileSystem: holderFS)
        let reclaimStarted = Atomic<Bool>(false)
        holderFS.beforeWrite = { fd throws(Errno) in
            // The record write into our new, still empty lock file (the fence's temporary file is written first).
            guard let status = try? RealFileSystem().fstat(fd), let atPath = try? RealFileSystem().stat(path, followSymlinks: false),
                status.inode == atPath.inode, !reclaimStarted.exchange(true, ordering: .relaxed)
            else { return }
            var times = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
            _ = futimens(fd.rawValue, &times)  // as if the holder had been paused here for an hour
            let thread = Thread {
                if (try? reclaimer.tryAcquire()) == true { reclaimerHeld.store(true, ordering: .relaxed) }
                reclaimerDone.signal()
            }
            thread.start()
            _ = reclaimerAtRename.wait(timeout: .now() + 30)  // judged stale, guard taken, inspected again: empty
        }
        let holderAtRename = DispatchSemaphore(value: 0)
        let reclaimerFinished = DispatchSemaphore(value: 0)
        let holderPaused = Atomic<Bool>(false)
        holderFS.beforeRemove = { removed in
            guard removed == path, !holderPaused.exchange(true, ordering: .relaxed) else { return }
            holderAtRename.signal()  // the release inspected the path (still its file) and is about to rename it
            _ = reclaimerFinished.wait(timeout: .now() + 60)
        }
        #expect(try holder.tryAcquire())
        let judgedEmpty = reclaimStarted.load(ordering: .relaxed)
        #expect(judgedEmpty, "the reclaimer judged the empty file")
        let released = Mutex<Result<Void, any Error>?>(nil)
        let releasedSignal = DispatchSemaphore(value: 0)
        let releaser = Thread {
            let result = Result { try holder.release() }
            released.withLock { $0 = result }
            releasedSignal.signal()
        }
        releaser.start()
        // The fixed release waits for the reclaimer's guard instead, and never gets here on its own.
        _ = holderAtRename.wait(timeout: .now() + 1)
        reclaimerGo.signal()
        #expect(reclaimerDone.wait(timeout: .now() + 30) == .success, "the reclaimer finished")
        reclaimerFinished.signal()
        #expect(releasedSignal.wait(timeout: .now() + 60) == .success, "the release finished")
        let reclaimerTookIt = reclaimerHeld.load(ordering: .relaxed)
        #expect(reclaimerTookIt, "the reclaimer took the lock")
        let outcome = released.withLock { $0 }
        #expect(throws: DurableIOError.self, "the holder learns its lock was taken") { try outcome?.get() }
        #expect(reclaimer.currentHolder()?.token == reclaimer.token, "the reclaimer's lock file is still at the path")
        #expect(throws: Never.self) { try reclaimer.release() }
        #expect(!FileManager.default.fileExists(atPath: path.string))
    }

    /// `create()` fails after the `O_EXCL` create (the record cannot be written). Its half-made, empty file is old
    /// enough to be reclaimed by age, and another process does so just as the failing one starts removing it. The
    /// clean-up must not remove that other process's lock.
    @Test func aFailedCreateNeverRemovesAnotherHoldersLock() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let options = LockFile.Options(staleAge: .seconds(30), refreshInterval: .seconds(5))
        let other = LockFile(at: path, options: options)
        let fs = HookedFileSystem()
        let failed = Atomic<Bool>(false)
        let otherTook = Atomic<Bool>(false)
        let intervened = Atomic<Bool>(false)
        fs.beforeWrite = { fd throws(Errno) in
            // The record write of our lock file (the fence's temporary file is written first, through the seam too).
            guard let status = try? RealFileSystem().fstat(fd), let atPath = try? RealFileSystem().stat(path, followSymlinks: false),
                status.inode == atPath.inode, !failed.exchange(true, ordering: .relaxed)
            else { return }
            var times = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
            _ = futimens(fd.rawValue, &times)  // as if the failing process had been paused for an hour
            throw .ioError
        }
        fs.beforeRemove = { removed in
            guard removed == path, failed.load(ordering: .relaxed), !intervened.exchange(true, ordering: .relaxed) else { return }
            if (try? other.tryAcquire()) == true { otherTook.store(true, ordering: .relaxed) }
        }
        let failing = LockFile(at: path, options: options, fileSystem: fs)
        #expect(throws: DurableIOError.self) { _ = try failing.tryAcquire() }
        let cleanUpStarted = intervened.load(ordering: .relaxed)
        #expect(cleanUpStarted, "the clean-up removed something from the lock path")
        if otherTook.load(ordering: .relaxed) {
            #expect(other.currentHolder()?.token == other.token, "the other holder's lock file is still at the path")
        } else {
            #expect(try other.tryAcquire(), "the half-made file is gone")
        }
        try other.release()
    }
}
