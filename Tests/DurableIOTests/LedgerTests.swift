import DurableIO
import DurableIOTesting
import Foundation
import Synchronization
import SystemPackage
import Testing

@Suite("JSONL ledger", .ownThreads, .inATestSlot)
struct LedgerTests {
    @Test func appendsAreRecoveredInOrder() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("clips.done")
        do {
            let ledger = try Ledger<Clip>.open(at: path)
            #expect(ledger.recovery.isClean && ledger.recovered.isEmpty)
            try ledger.append(Clip(clip: "a", frames: 1))
            try ledger.append(contentsOf: [Clip(clip: "b", frames: 2), Clip(clip: "c", frames: 3)])
            try ledger.close()
        }
        let ledger = try Ledger<Clip>.open(at: path)
        #expect(ledger.recovered.map(\.clip) == ["a", "b", "c"])
        #expect(readText(path).split(separator: "\n").first == #"{"clip":"a","frames":1}"#)
    }

    @Test func tornTailIsQuarantinedAndTheNextAppendIsACleanLine() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("clips.done")
        writeRaw(#"{"clip":"a","frames":1}"# + "\n" + #"{"clip":"b","fra"#, to: path)
        let ledger = try Ledger<Clip>.open(at: path)
        #expect(ledger.recovered.map(\.clip) == ["a"])
        #expect(ledger.recovery.tornTail == TornTail(byteOffset: 24, byteCount: 16, isZeroFilled: false))
        try ledger.append(Clip(clip: "c", frames: 3))
        try ledger.close()
        #expect(readText(path) == #"{"clip":"a","frames":1}"# + "\n" + #"{"clip":"c","frames":3}"# + "\n")
        let aside = dir.names.filter { $0.hasPrefix("clips.done.torn-") }
        #expect(aside.count == 1)
        #expect(readText(dir.file(aside[0])) == #"{"clip":"b","fra"#)
        let reread = try Ledger<Clip>.recover(at: path)
        #expect(reread.entries.map(\.clip) == ["a", "c"] && reread.report.isClean)
    }

    @Test func aTailOfNULBytesIsATornTailNotMalformedLines() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        var bytes = Array((#"{"key":"a"}"# + "\n" + #"{"key":"b"}"# + "\n").utf8)
        bytes += [UInt8](repeating: 0, count: 40) + [0x0A] + [UInt8](repeating: 0, count: 4000)
        writeRaw(bytes, to: path)
        let ledger = try KeyLedger.open(at: path, options: .init(strict: true))
        #expect(ledger.count == 2)
        #expect(ledger.recovery.malformedLineCount == 0)
        #expect(ledger.recovery.tornTail?.byteCount == 4041)
        #expect(ledger.recovery.tornTail?.isZeroFilled == false)  // it holds one newline
        try ledger.insert("c")
        try ledger.close()
        #expect(readText(path) == #"{"key":"a"}"# + "\n" + #"{"key":"b"}"# + "\n" + #"{"key":"c"}"# + "\n")
    }

    @Test func malformedMidFileLinesAreCountedWithLineNumbersAndOffsets() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("clips.done")
        let lines = [
            #"{"clip":"a","frames":1}"#, "garbage", #"{"clip":"b","frames":2}"#, #"{"clip":"c"}"#,
            #"{"clip":"d","frames":4}"#,
        ]
        writeRaw(lines.joined(separator: "\n") + "\n", to: path)
        let (entries, report) = try Ledger<Clip>.recover(at: path)
        #expect(entries.map(\.clip) == ["a", "b", "d"])
        #expect(report.validEntries == 3)
        #expect(report.malformedLineCount == 2)
        #expect(report.malformedLines.map(\.lineNumber) == [2, 4])
        #expect(report.malformedLines.map(\.byteOffset) == [24, 56])
        #expect(report.malformedLines[1].reason.contains("frames"))
        #expect(report.description.contains("2 malformed lines skipped (lines 2, 4)"))
    }

    @Test func strictModeThrowsOnAMalformedLine() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("clips.done")
        writeRaw(#"{"clip":"a","frames":1}"# + "\nnot json\n", to: path)
        let error = #expect(throws: DurableIOError.self) {
            _ = try Ledger<Clip>.open(at: path, options: .init(strict: true))
        }
        #expect(error?.code == .malformedLine)
        #expect(error?.message == "1 malformed line(s), first at line 2 (byte 24): not a valid Clip (invalid JSON)")
        #expect(readText(path) == #"{"clip":"a","frames":1}"# + "\nnot json\n", "nothing was changed")
    }

    @Test func aSecondWriterIsRefusedWithTheHoldersPID() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        let first = try KeyLedger.open(at: path)
        let error = #expect(throws: DurableIOError.self) { _ = try KeyLedger.open(at: path) }
        #expect(error?.code == .ledgerLocked)
        #expect(error?.message == "it is open for writing by pid \(ProcessInfo.processInfo.processIdentifier)")
        try first.close()
        _ = try KeyLedger.open(at: path)
    }

    @Test func aFailedAppendPoisonsTheLedgerAndReopeningRecovers() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        let fs = FaultInjectingFileSystem()
        let ledger = try KeyLedger.open(at: path, fileSystem: fs)
        try ledger.insert("a")
        fs.inject(Fault(.write, action: .shortWrite(5), times: 1))
        fs.inject(Fault(.write, error: .noSpace, times: 1))
        let first = #expect(throws: DurableIOError.self) { try ledger.insert("b") }
        #expect(first?.errno == .noSpace)
        #expect(!ledger.contains("b"))
        let second = #expect(throws: DurableIOError.self) { try ledger.insert("c") }
        #expect(second?.code == .ledgerPoisoned)
        try ledger.close()

        // The failed batch was cut back off: nothing unacknowledged is read back as if it were durable.
        #expect(readText(path) == #"{"key":"a"}"# + "\n")
        let reopened = try KeyLedger.open(at: path)
        #expect(reopened.keys == ["a"] && reopened.recovery.isClean)
        try reopened.insert("b")
        #expect(try KeyLedger.recover(at: path).keys == ["a", "b"])
    }

    @Test func afterEIOOnFdatasyncTheFailedLineIsNotRecoveredAsDurable() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        let fs = FaultInjectingFileSystem()
        let ledger = try KeyLedger.open(at: path, fileSystem: fs)
        try ledger.insert("a")
        fs.inject(Fault(.fdatasync, error: .ioError, times: 1))
        #expect(throws: DurableIOError.self) { try ledger.insert("b") }
        try ledger.close()
        // Linux may keep the lost line in the page cache, marked clean: a reopen must not take it as durable,
        // or the retry below would find "b" already there and never write it.
        let reopened = try KeyLedger.open(at: path)
        #expect(!reopened.contains("b"))
        #expect(try reopened.insert("b"))
    }

    @Test func eioOnFdatasyncIsNeverReportedDurable() throws {
        let dir = TemporaryDirectory()
        let fs = FaultInjectingFileSystem()
        let ledger = try Ledger<Clip>.open(at: dir.file("c.done"), fileSystem: fs)
        fs.inject(Fault(.fdatasync, error: .ioError))
        let error = #expect(throws: DurableIOError.self) { try ledger.append(Clip(clip: "x", frames: 0)) }
        #expect(error?.code == .syncFailed)
        #expect(fs.calls.filter { $0.operation == .fdatasync }.count == 1)
        #expect((try? ledger.append(Clip(clip: "y", frames: 0))) == nil)
    }

    @Test func concurrentAsyncAppendersShareSyncsAndAllArrive() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        let fs = FaultInjectingFileSystem()
        let ledger = try KeyLedger.open(at: path, fileSystem: fs)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for i in 0..<50 { try await ledger.insert(RecordKey("w\(worker)-\(i)")) }
                }
            }
            try await group.waitForAll()
        }
        #expect(ledger.count == 400)
        let syncs = fs.calls.filter { $0.operation == .fdatasync }.count
        #expect(syncs < 400, "group commit shares syncs: \(syncs) syncs for 400 appends")
        try ledger.close()
        #expect(try KeyLedger.recover(at: path).keys.count == 400)
    }

    @Test func concurrentThreadAppendersAllArrive() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        let ledger = try KeyLedger.open(at: path)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<50 { try! ledger.insert(RecordKey("t\(worker)-\(i)")) }
        }
        try ledger.close()
        let (keys, report) = try KeyLedger.recover(at: path)
        #expect(keys.count == 400 && report.isClean)
    }

    @Test func theLedgerIsNotInheritedByAChildProcess() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        let ledger = try KeyLedger.open(at: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ls -l /proc/self/fd"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(!output.contains("keys.done"))
        try ledger.close()
    }
}

@Suite("Ledger under real crashes and misuse", .ownThreads, .inATestSlot)
struct LedgerCrashTests {
    /// Kill a real writer with SIGKILL at random moments, ten times: every acknowledged key survives.
    @Test func everyAcknowledgedKeySurvivesKillDashNine() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        var next = 0
        for round in 0..<10 {
            let writer = try ChildProcess(ChildProcess.testHelper, ["append", "--path", path.string, "--from", "\(next)"])
            let target = next + Int.random(in: 5...60)
            #expect(await writer.waitFor("acked \(target)\n"), "round \(round): \(writer.text)")
            try await Task.sleep(for: .microseconds(Int.random(in: 0...10_000)))
            await writer.kill9()
            let acked = writer.text.split(separator: "\n").compactMap { $0.hasPrefix("acked ") ? Int($0.dropFirst(6)) : nil }
            let lastAcked = try #require(acked.last)
            let (keys, report) = try KeyLedger.recover(at: path)
            for i in 0...lastAcked { #expect(keys.contains(RecordKey("k\(i)")), "round \(round): acknowledged k\(i) lost") }
            #expect(report.malformedLineCount == 0)
            next = keys.count  // the next run resumes after what is durable
            #expect(next >= lastAcked + 1)
        }
    }

    @Test func replacingTheLedgerIsRefusedWhileAWriterHasItOpen() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        let writer = try KeyLedger.open(at: path)
        try writer.insert("a")
        let error = #expect(throws: DurableIOError.self) { try KeyLedger.replace(at: path, with: []) }
        #expect(error?.code == .ledgerLocked)
        try writer.close()
        try KeyLedger.replace(at: path, with: ["b"])
        #expect(try KeyLedger.recover(at: path).keys == ["b"])
    }

    /// A lock let go a moment later is waited out, not reported held: between `fork` and `exec` a child started by
    /// any thread shares the ledger's open file description, so a handle closed just now can look locked for a
    /// moment (CI failed on it under load). Modelled in this process: another open file description of the ledger
    /// holds the `flock`, and a thread closes it 20 ms after the repair started.
    @Test func replacingWaitsOutAHolderThatLetsGoAtOnce() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        try KeyLedger.replace(at: path, with: ["a"])
        // A try proves something only if the holder really let go within the window: on a loaded machine the
        // closing thread can be descheduled for longer than 250 ms (a clean-clone CI run was), and then a refusal
        // is right. Such a try is repeated; a refusal after a close in time fails the test.
        for attempt in 1...5 {
            let holder = open(path.string, O_RDONLY | O_CLOEXEC)
            #expect(holder >= 0 && flock(holder, LOCK_EX | LOCK_NB) == 0)
            let closedAt = Mutex<ContinuousClock.Instant?>(nil)
            let letGo = Thread {
                usleep(20_000)
                close(holder)
                closedAt.withLock { $0 = .now }
            }
            let started = ContinuousClock.now
            letGo.start()
            do {
                try KeyLedger.replace(at: path, with: ["b"])
                #expect(try KeyLedger.recover(at: path).keys == ["b"])
                return
            } catch let error as DurableIOError where error.code == .ledgerLocked {
                while closedAt.withLock({ $0 }) == nil { usleep(1_000) }
                let late = closedAt.withLock { $0! } - started > .milliseconds(200)
                #expect(late, "attempt \(attempt): refused although the holder let go in time: \(error)")
                if !late { return }
            }
        }
        Issue.record("the closing thread was late in 5 attempts out of 5: the machine is too loaded to tell")
    }

    @Test func openingForWritingMakesWhatItRecoveredDurable() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("keys.done")
        writeRaw(#"{"key":"a"}"# + "\n", to: path)  // written by a killed process, maybe never synced
        let fs = FaultInjectingFileSystem()
        let ledger = try KeyLedger.open(at: path, fileSystem: fs)
        #expect(fs.calls.contains(SyscallRecord(operation: .fsync, path: path)))
        try ledger.close()
    }
}
