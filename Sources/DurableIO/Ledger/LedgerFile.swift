import Foundation
import Logging
import SystemPackage

/// The byte level of every JSONL ledger: single-writer open with recovery, torn-tail quarantine, and durable
/// appends with group commit.
///
/// Appends from many threads or tasks share `fdatasync` calls: the first caller to find no sync in progress
/// becomes the leader, writes every queued line in one `write` and syncs once; the others wait for the sync
/// that covers their line. Async callers wait on a continuation and, when no thread leads, a dedicated
/// committer thread leads for them, so blocking I/O never occupies the cooperative pool.
///
/// After a failed write or sync the handle is poisoned: every waiter of that batch gets the error, and every
/// later call throws ``DurableIOError/Code/ledgerPoisoned`` until the file is reopened; the file is first cut
/// back to its last synced length, so a reopen never reads the failed batch back. An append is never reported
/// durable when its sync failed.
///
/// Thread-safe: all state is guarded by one condition lock.
final class LedgerFile: @unchecked Sendable {
    let path: FilePath
    let fileSystem: any FileSystem
    private let fd: FileDescriptor

    private let condition = NSCondition()
    /// What a gathering leader waits on (see ``leadLocked()``), apart from ``condition``: the append that completes
    /// its batch wakes the leader alone, not every appender waiting for that batch's sync as well.
    private let gatherWake = NSCondition()
    private var queue: [UInt8] = []
    private var waiters: [Waiter] = []
    private var leaderActive = false
    private var poison: DurableIOError?
    /// The file's size after the last successful sync: everything before it is durable, nothing after it was
    /// acknowledged. Touched only by the leader.
    private var syncedLength: Int64 = 0
    private var closed = false
    private var committerStarted = false
    private var asyncWaiting = 0
    private var lastBatchSize = 0
    /// A leader is waiting for ``lastBatchSize`` appends to be queued (see ``leadLocked()``).
    private var gathering = false

    private final class Waiter {
        var result: Result<Void, DurableIOError>?
        let continuation: CheckedContinuation<Void, any Error>?
        init(continuation: CheckedContinuation<Void, any Error>? = nil) { self.continuation = continuation }
    }

    private init(path: FilePath, fileSystem: any FileSystem, fd: FileDescriptor) {
        self.path = path
        self.fileSystem = fileSystem
        self.fd = fd
    }

    deinit {
        if !closed { try? fileSystem.close(fd) }
    }

    /// Opens (creating if needed) `path` for appending: takes the exclusive `flock`, recovers the content through
    /// `recover`, and quarantines a torn tail before anything can be appended.
    ///
    /// - Returns: the open file and what `recover` returned.
    static func open<R>(
        at path: FilePath, fileSystem: any FileSystem, options: RecoveryOptions,
        recover: (LineFile, FileLayout) throws(DurableIOError) -> (R, RecoveryReport)
    ) throws(DurableIOError) -> (LedgerFile, R, RecoveryReport) {
        var attempt = 0
        var opened: (FileDescriptor, LedgerFile)?
        while opened == nil {
            attempt += 1
            let fd = try openCreatingDurably(path, fileSystem: fileSystem)
            let file = LedgerFile(path: path, fileSystem: fileSystem, fd: fd)
            do {
                try fileSystem.flockAllowingHandover(fd, FileLockOperation(.exclusive, nonBlocking: true))
            } catch .wouldBlock {
                try? fileSystem.close(fd)
                file.closed = true
                throw lockedError(path, fileSystem: fileSystem, operation: "open ledger")
            } catch {
                throw DurableIOError.syscall("flock", path: path, error)
            }
            // The file may have been replaced (KeyLedger.replace) between open and flock: then this lock guards
            // an unlinked inode. Open the new one instead.
            let locked = try? fileSystem.fstat(fd).inode
            let named = try? fileSystem.stat(path, followSymlinks: false).inode
            if locked != nil && locked == named {
                opened = (fd, file)
            } else if attempt >= 8 {
                throw DurableIOError(
                    .systemCall, operation: "open ledger", path: path, message: "the file was replaced 8 times while opening it")
            }
        }
        let (fd, file) = opened!
        let lines = LineFile(fileSystem: fileSystem, fd: fd, path: path)
        let layout = try lines.layout()
        let (recovered, report) = try recover(lines, layout)
        report.logWarnings(to: options.logger)
        if let torn = layout.tornTail {
            let aside = try file.quarantine(torn, lines: lines, validLength: layout.validLength)
            options.logger.warning(
                "torn tail of \(torn.byteCount) bytes preserved in \(aside) and cut from \(path.lastComponent.map { "\($0)" } ?? "\(path)")",
                metadata: ["path": "\(path)", "quarantine": "\(aside)"])
        } else {
            // What a killed writer wrote but never synced is in the page cache and was just recovered: make it
            // durable before anyone acts on it, so a later power cut cannot take back what this run relies on.
            do { try fileSystem.fsync(fd) } catch {
                throw DurableIOError.syscall("fsync", path: path, error, hint: "The recovered content may not be on disk; nothing was changed.")
            }
        }
        file.syncedLength = try file.currentSize()
        return (file, recovered, report)
    }

    private func currentSize() throws(DurableIOError) -> Int64 {
        do { return try fileSystem.fstat(fd).size } catch { throw DurableIOError.syscall("fstat", path: path, error) }
    }

    /// The error for a ledger another process has open for writing, naming its pid when the system tells.
    static func lockedError(_ path: FilePath, fileSystem: any FileSystem, operation: String) -> DurableIOError {
        let holder = LockHolders.flockHolder(of: path, fileSystem: fileSystem).map { "pid \($0)" } ?? "another process"
        return DurableIOError(
            .ledgerLocked, operation: operation, path: path, errno: .wouldBlock,
            message: "it is open for writing by \(holder)",
            hint: "Only one writer at a time. Wait for it to finish, or stop it, then run again.")
    }

    /// Runs `body` holding the writer lock of the existing file at `path` (nothing to hold if it does not exist),
    /// so a file is never replaced under a live writer.
    static func withWriterLock<R>(
        _ path: FilePath, fileSystem: any FileSystem, operation: String, _ body: () throws -> R
    ) throws -> R {
        let fd: FileDescriptor
        do { fd = try fileSystem.open(path, .readOnly, options: [.noFollow], permissions: nil) } catch .noSuchFileOrDirectory {
            return try body()
        } catch {
            throw DurableIOError.syscall("open", path: path, error)
        }
        defer { try? fileSystem.close(fd) }
        do { try fileSystem.flockAllowingHandover(fd, FileLockOperation(.exclusive, nonBlocking: true)) } catch .wouldBlock {
            throw lockedError(path, fileSystem: fileSystem, operation: operation)
        } catch {
            throw DurableIOError.syscall("flock", path: path, error)
        }
        return try body()
    }

    /// Opens for appending; a file that did not exist is created and its directory fsync'd.
    private static func openCreatingDurably(_ path: FilePath, fileSystem: any FileSystem) throws(DurableIOError)
        -> FileDescriptor
    {
        do {
            return try fileSystem.open(path, .readWrite, options: [.append, .noFollow], permissions: nil)
        } catch .noSuchFileOrDirectory {
            // Create it below.
        } catch {
            throw DurableIOError.syscall("open", path: path, error)
        }
        let fd: FileDescriptor
        do {
            fd = try fileSystem.open(
                path, .readWrite, options: [.append, .create, .noFollow], permissions: FilePermissions(rawValue: 0o644))
        } catch {
            throw DurableIOError.syscall("create", path: path, error)
        }
        do { try fileSystem.syncDirectory(path.parentDirectory) } catch {
            try? fileSystem.close(fd)
            throw DurableIOError.syscall("directory fsync", path: path.parentDirectory, error)
        }
        return fd
    }

    /// Preserves a torn tail in `<file>.torn-<UTC time>` (durably), then truncates the ledger to its last
    /// complete line and fsyncs it, so no new line is ever glued onto a partial one.
    /// - Returns: where the torn bytes were preserved.
    private func quarantine(_ torn: TornTail, lines: LineFile, validLength: Int64) throws(DurableIOError) -> FilePath {
        let bytes = try lines.read(at: torn.byteOffset, count: torn.byteCount)
        let stamp = Self.timestamp()
        var aside = path.appendingToName(".torn-\(stamp)")
        var n = 1
        while try fileSystem.isPresent(aside) {
            n += 1
            aside = path.appendingToName(".torn-\(stamp)-\(n)")
        }
        do { try AtomicFile.write(bytes, to: aside, fileSystem: fileSystem) } catch let error as DurableIOError {
            throw error
        } catch {
            throw DurableIOError(
                .systemCall, operation: "quarantine torn tail", path: aside, message: "\(error)", cause: error)
        }
        do { try fileSystem.truncate(fd, to: validLength) } catch {
            throw DurableIOError.syscall("truncate torn tail", path: path, error)
        }
        do { try fileSystem.fsync(fd) } catch {
            poison = DurableIOError.syscall("fsync", path: path, error)
            throw poison!
        }
        return aside
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    // MARK: Appending

    /// Appends `bytes` (one or more complete lines) and returns once they are durable.
    func append(_ bytes: [UInt8]) throws(DurableIOError) {
        let waiter = Waiter()
        condition.lock()
        if let error = refusal() {
            condition.unlock()
            throw error
        }
        queue.append(contentsOf: bytes)
        waiters.append(waiter)
        wakeGatheringLeaderIfComplete()
        driveBatches(until: { waiter.result != nil })
        condition.unlock()
        try waiter.result!.get()
    }

    /// Appends `bytes` and resumes once they are durable; the waiting happens off the cooperative pool.
    func appendAsync(_ bytes: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            condition.lock()
            if let error = refusal() {
                condition.unlock()
                continuation.resume(throwing: error)
                return
            }
            queue.append(contentsOf: bytes)
            waiters.append(Waiter(continuation: continuation))
            asyncWaiting += 1
            startCommitterIfNeeded()
            wakeGatheringLeaderIfComplete()
            condition.broadcast()
            condition.unlock()
        }
    }

    private func refusal() -> DurableIOError? {
        if closed {
            return DurableIOError(.closed, operation: "append", path: path, message: "the ledger is closed")
        }
        if let poison {
            return DurableIOError(
                .ledgerPoisoned, operation: "append", path: path, errno: poison.errno,
                message: "an earlier append failed (\(poison.operation): \(poison.message)); nothing more is accepted",
                hint:
                    "Reopen the ledger and append the failed entries again: they were not acknowledged, and the file was cut back to its last synced length. If that cut failed too, the disk is failing: check it before anything else.")
        }
        return nil
    }

    /// With the lock held: until `done()`, lead a batch whenever nobody leads, else wait for the leader.
    private func driveBatches(until done: () -> Bool) {
        while !done() {
            if !leaderActive { leadLocked() } else { condition.wait() }
        }
    }

    /// With the lock held: becomes the leader, runs one batch without the lock, and returns with it held.
    ///
    /// When the previous batch held several appends (concurrent appenders), the leader first gathers for at most
    /// ``gatherLimit`` until as many are queued again — PostgreSQL's `commit_delay` idea: the appenders the last
    /// sync woke are about to append again, and one sync can cover them all. A lone appender never waits.
    private func leadLocked() {
        leaderActive = true
        if lastBatchSize > 1 && waiters.count < lastBatchSize {
            // The appender that completes the batch wakes the leader; the limit covers an appender that left.
            gathering = true
            let deadline = Date(timeIntervalSinceNow: Self.gatherLimit)
            while waiters.count < lastBatchSize && !closed {
                // Taken before `condition` is let go, so the wake (sent with `condition` held) cannot come first.
                gatherWake.lock()
                condition.unlock()
                let woken = gatherWake.wait(until: deadline)
                gatherWake.unlock()
                condition.lock()
                if !woken { break }
            }
            gathering = false
        }
        lastBatchSize = waiters.count
        condition.unlock()
        leadOneBatch()
        condition.lock()
    }

    /// With the lock held: wakes the gathering leader once as many appends are queued as its last batch held.
    private func wakeGatheringLeaderIfComplete() {
        guard gathering && waiters.count >= lastBatchSize else { return }
        gatherWake.lock()
        gatherWake.signal()
        gatherWake.unlock()
    }

    /// Takes the queued bytes, writes and syncs them, and resolves their waiters. Called without the lock, by
    /// the one caller that set `leaderActive` (through ``leadLocked()``).
    private func leadOneBatch() {
        condition.lock()
        let batch = queue
        let batchWaiters = waiters
        queue.removeAll(keepingCapacity: true)
        waiters.removeAll(keepingCapacity: true)
        let failedAlready = poison
        condition.unlock()

        var outcome: Result<Void, DurableIOError> = .success(())
        if let failedAlready {
            outcome = .failure(failedAlready)
        } else if !batch.isEmpty {
            do { try fileSystem.writeAll(fd, batch) } catch {
                outcome = .failure(DurableIOError.syscall("append", path: path, error))
            }
            if case .success = outcome {
                do { try fileSystem.fdatasync(fd) } catch {
                    outcome = .failure(DurableIOError.syscall("fdatasync", path: path, error))
                }
            }
            if case .success = outcome {
                syncedLength += Int64(batch.count)
            } else {
                rollBackUnacknowledged()
            }
        }

        var continuations: [(CheckedContinuation<Void, any Error>, Result<Void, DurableIOError>)] = []
        condition.lock()
        if case .failure(let error) = outcome, poison == nil { poison = error }
        for waiter in batchWaiters {
            waiter.result = outcome
            if let continuation = waiter.continuation {
                continuations.append((continuation, outcome))
                asyncWaiting -= 1
            }
        }
        leaderActive = false
        condition.broadcast()
        condition.unlock()
        for (continuation, result) in continuations {
            continuation.resume(with: result.mapError { $0 as any Error })
        }
    }

    /// The longest the committer waits to gather a batch.
    static let gatherLimit: TimeInterval = 0.0001

    /// After a failed write or sync, cuts the file back to its last synced length (and syncs that), so the lines
    /// of the failed batch — never acknowledged — are not read back by a later open as if they were durable.
    /// After `EIO` from `fdatasync`, Linux may have marked the lost pages clean: without this, a reopen would
    /// recover those lines from the page cache and a re-append would find them "already there". Best effort:
    /// if this fails too, the disk is failing and the error already says so.
    private func rollBackUnacknowledged() {
        try? fileSystem.truncate(fd, to: syncedLength)
        try? fileSystem.fsync(fd)
    }

    /// The committer thread leads batches that hold async waiters when no thread is leading.
    private func startCommitterIfNeeded() {
        guard !committerStarted else { return }
        committerStarted = true
        let thread = Thread { [weak self] in self?.committerLoop() }
        thread.name = "DurableIO ledger committer"
        thread.start()
    }

    private func committerLoop() {
        condition.lock()
        while true {
            if closed && asyncWaiting == 0 { break }
            if asyncWaiting > 0 && !leaderActive && !waiters.isEmpty {
                leadLocked()
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }

    /// Waits for appends in flight, then closes the descriptor (which releases the flock).
    func close() throws(DurableIOError) {
        condition.lock()
        driveBatches(until: { !leaderActive && waiters.isEmpty })
        guard !closed else {
            condition.unlock()
            return
        }
        closed = true
        condition.broadcast()
        condition.unlock()
        do { try fileSystem.close(fd) } catch { throw DurableIOError.syscall("close", path: path, error) }
    }
}
