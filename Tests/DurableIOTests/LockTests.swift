import DurableIO
import Foundation
import Synchronization
import SystemPackage
import Testing

@Suite("Locks", .ownThreads, .inATestSlot)
struct LockTests {
    enum Kind: String, CaseIterable, Sendable { case file, lockfile }

    func lock(_ kind: Kind, _ path: FilePath, staleAge: Duration = .seconds(60)) -> any ProcessLock {
        kind == .file
            ? FileLock(at: path) : LockFile(at: path, options: .init(staleAge: staleAge, refreshInterval: staleAge / 6))
    }

    func helper(_ arguments: [String]) throws -> ChildProcess { try ChildProcess(ChildProcess.testHelper, arguments) }

    @Test(arguments: Kind.allCases)
    func oneHolderAtATimeAndMisuseIsAnError(kind: Kind) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let a = lock(kind, path)
        let b = lock(kind, path)
        #expect(try a.tryAcquire())
        #expect(a.token == 1)
        #expect(try b.tryAcquire() == false, "a second handle in the same process is another holder")
        let again = #expect(throws: DurableIOError.self) { _ = try a.tryAcquire() }
        #expect(again?.code == .lockAlreadyHeld)
        #expect(a.currentHolder()?.pid == ProcessInfo.processInfo.processIdentifier)
        let held = #expect(throws: DurableIOError.self) { try b.acquireBlocking(timeout: .milliseconds(50)) }
        #expect(held?.code == .lockHeld)
        #expect(held?.message.hasPrefix("run.lock is held by pid \(ProcessInfo.processInfo.processIdentifier) (") == true)
        #expect(held?.message.hasSuffix("; waited 0 s") == true)
        try a.release()
        let twice = #expect(throws: DurableIOError.self) { try a.release() }
        #expect(twice?.code == .lockNotHeld)
        #expect(try b.tryAcquire())
        #expect(b.token == 2, "fencing tokens grow with each acquisition")
        try b.release()
    }

    @Test func fileLockHolderIsReadFromTheKernelNotTheStaleRecord() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("out.lock")
        let lock = FileLock(at: path)
        try lock.withLock { #expect(FileLock.holder(of: path)?.token == 1) }
        #expect(FileLock.holder(of: path) == nil)
    }

    @Test(arguments: Kind.allCases)
    func mutualExclusionUnderContention(kind: Kind) async throws {
        let dir = TemporaryDirectory()
        let counter = dir.file("counter").string
        let children = try (0..<8).map { _ in
            try helper(["increment", "--kind", kind.rawValue, "--path", dir.file("run.lock").string, "--counter", counter, "--iterations", "200"])
        }
        for child in children { #expect(await child.wait() == 0, "\(child.text)") }
        #expect(readText(FilePath(counter)) == "1600\n")
    }

    @Test(arguments: Kind.allCases)
    func killDashNineOfTheHolderFreesTheLock(kind: Kind) async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let holder = try helper(["hold", "--kind", kind.rawValue, "--path", path.string])
        #expect(await holder.waitFor("acquired"))
        let next = lock(kind, path)
        #expect(try next.tryAcquire() == false)
        await holder.kill9()
        #expect(try next.tryAcquire(), "FileLock: the kernel released it; LockFile: the dead pid is proof")
        #expect(next.token == 2)
        try next.release()
    }

    @Test func aFreshCorruptLockFileIsRefusedWithItsAgeAndAnOldOneReclaimed() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        writeRaw("{\"pid\": 12", to: path)  // a holder killed between create and write
        let lock = LockFile(at: path, options: .init(staleAge: .seconds(30), refreshInterval: .seconds(5)))
        let error = #expect(throws: DurableIOError.self) { try lock.acquireBlocking(timeout: .zero) }
        #expect(error?.message == "run.lock is held by an unreadable lock record (0 s old; reclaimed once older than 30 s)")
        var times = [timespec(tv_sec: time(nil) - 31, tv_nsec: 0), timespec(tv_sec: time(nil) - 31, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path.string, &times, 0) == 0)
        #expect(try lock.tryAcquire())
        try lock.release()
        #expect(!FileManager.default.fileExists(atPath: path.string))
    }

    @Test func aLockNamingALiveUnrelatedPidWithAnotherStartTimeIsReclaimed() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        // pid 1 is alive, but it is not the process that took this lock: the start time differs (pid reuse).
        let record = #"{"acquiredAt":"2026-11-23T05:12:09Z","command":"durable-extract run","host":"\#(hostName())","nonce":"x","pid":1,"processStart":"other-boot:1","token":7}"#
        writeRaw(record + "\n", to: path)
        let lock = LockFile(at: path)
        #expect(lock.currentHolder()?.pid == 1)
        #expect(try lock.tryAcquire())
        try lock.release()
    }

    @Test func aLockOfALiveProcessIsNotReclaimedWhateverItsAge() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let holder = try helper(["hold", "--kind", "lockfile", "--path", path.string])
        #expect(await holder.waitFor("acquired"))
        var times = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path.string, &times, 0) == 0)
        #expect(try LockFile(at: path).tryAcquire() == false)
        await holder.kill9()
    }

    @Test func twoReclaimersRacingForOneStaleLockNeverBothWin() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let dead = #"{"acquiredAt":"2026-11-23T05:12:09Z","command":"x","host":"\#(hostName())","nonce":"n","pid":99999999,"token":1}"#
        var doubleWins = 0
        var singleWins = 0
        for _ in 0..<500 {
            writeRaw(dead + "\n", to: path)
            let handles = [LockFile(at: path), LockFile(at: path)]
            let wins = Atomic<Int>(0)
            let start = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            for handle in handles {
                group.enter()
                Thread {
                    start.wait()
                    if (try? handle.tryAcquire()) == true { wins.add(1, ordering: .relaxed) }
                    group.leave()
                }.start()
            }
            start.signal()
            start.signal()
            group.wait()
            let n = wins.load(ordering: .relaxed)
            if n > 1 { doubleWins += 1 }
            if n == 1 { singleWins += 1 }
            for handle in handles { try? handle.release() }
        }
        #expect(doubleWins == 0)
        #expect(singleWins >= 490, "a stale lock is reclaimed by one of the two (\(singleWins) of 500)")
    }

    @Test func releaseAfterTheLockWasTakenIsCompromisedAndLeavesTheOtherHolderAlone() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let paused = LockFile(at: path)
        #expect(try paused.tryAcquire())
        // Another process judged it stale (say, by age on another host) and took it.
        try FileManager.default.moveItem(atPath: path.string, toPath: dir.file("gone").string)
        let other = LockFile(at: path)
        #expect(try other.tryAcquire())
        let before = readFile(path)
        let error = #expect(throws: DurableIOError.self) { try paused.release() }
        #expect(error?.code == .lockCompromised)
        #expect(readFile(path) == before, "the other holder's lock file is intact")
        #expect(other.currentHolder()?.token == other.token)
        try other.release()
    }

    @Test(arguments: Kind.allCases)
    func aSymlinkPlantedAtTheLockPathIsRefused(kind: Kind) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        symlink(dir.file("elsewhere").string, path.string)
        let error = #expect(throws: DurableIOError.self) { _ = try lock(kind, path).tryAcquire() }
        #expect(error?.message.contains("symbolic link") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.file("elsewhere").string))
    }

    @Test func aChildNeverInheritsTheLockAndItsExitDoesNotReleaseIt() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let lock = FileLock(at: path)
        #expect(try lock.tryAcquire())
        let child = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "ls -l /proc/self/fd"])
        #expect(await child.wait() == 0)
        #expect(!child.text.contains("run.lock"))
        let probe = try helper(["try", "--kind", "file", "--path", path.string])
        #expect(await probe.wait() == 4)
        #expect(probe.text.contains("run.lock is held by pid \(ProcessInfo.processInfo.processIdentifier)"))
        try lock.release()
    }

    @Test func deletingAHeldFileLockIsReportedAtRelease() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let lock = FileLock(at: path)
        #expect(try lock.tryAcquire())
        try FileManager.default.removeItem(atPath: path.string)
        let error = #expect(throws: DurableIOError.self) { try lock.release() }
        #expect(error?.code == .lockCompromised)
    }

    @Test func acquireWaitsAndIsCancellable() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let holder = FileLock(at: path)
        #expect(try holder.tryAcquire())
        let waiter = Task { try await FileLock(at: path).acquire(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        do {
            try await waiter.value
            Issue.record("the wait should have been cancelled")
        } catch {
            #expect(error is CancellationError)
        }
        try holder.release()
        let next = FileLock(at: path)
        try await next.withLock(timeout: .seconds(1)) { () async -> Void in
            await Task.yield()
            #expect(next.token == 2)
        }
    }

    @Test func anUnreadableFenceIsRefusedRatherThanRestartingTokens() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        writeRaw("not a number\n", to: dir.file("run.lock.fence"))
        let lock = LockFile(at: path)
        let error = #expect(throws: DurableIOError.self) { _ = try lock.tryAcquire() }
        #expect(error?.code == .invalidInput)
        #expect(error?.message == "the fence file does not hold a number; refusing to issue a token that may not be larger than the last")
        #expect(!FileManager.default.fileExists(atPath: path.string), "the half-made lock file was removed")
        writeRaw("41\n", to: dir.file("run.lock.fence"))
        #expect(try lock.tryAcquire())
        #expect(lock.token == 42)
        try lock.release()
    }

    /// DESIGN: state written by the previous release is read by the next. These bytes are what the previous
    /// release's `LockFile` wrote (owner record, sorted keys, one line; `<lock>.fence` holding the last token).
    @Test func aLockLeftByThePreviousReleaseIsReadAndItsTokensContinue() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("run.lock")
        let dead = #"{"acquiredAt":"2026-11-23T05:12:09Z","command":"durable-extract run","host":"\#(hostName())","nonce":"9C1E0F6A-3B7D-4E21-A0C5-5D2B8F7E4411","pid":99999999,"processStart":"0b6f7d3e-8a41-4c55-9b0e-2f1c6d7a9e30:1234567","token":7}"#
        writeRaw(dead + "\n", to: path)
        writeRaw("7\n", to: dir.file("run.lock.fence"))
        let lock = LockFile(at: path)
        #expect(lock.currentHolder()?.token == 7)
        #expect(lock.describeHolder() == "pid 99999999 (durable-extract run) on \(hostName()) since 2026-11-23T05:12:09Z")
        #expect(try lock.tryAcquire(), "the dead holder's lock is reclaimed on proof")
        #expect(lock.token == 8, "tokens continue from the old fence")
        try lock.release()
        let me = ProcessInfo.processInfo.processIdentifier
        let alive = #"{"acquiredAt":"2026-11-23T05:12:09Z","command":"durable-extract run","host":"\#(hostName())","nonce":"n","pid":\#(me),"token":9}"#
        writeRaw(alive + "\n", to: path)
        #expect(try lock.tryAcquire() == false, "a live holder's old record is respected")
        #expect(dir.names == ["run.lock", "run.lock.fence"], "nothing left behind: \(dir.names)")
    }

    @Test func staleAgeMustExceedTheRefreshIntervalWithAMargin() throws {
        let dir = TemporaryDirectory()
        let lock = LockFile(at: dir.file("x.lock"), options: .init(staleAge: .seconds(20), refreshInterval: .seconds(10)))
        let error = #expect(throws: DurableIOError.self) { _ = try lock.tryAcquire() }
        #expect(error?.code == .invalidInput)
    }
}
