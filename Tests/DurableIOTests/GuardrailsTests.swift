import Clocks
import DurableCLI
import Foundation
import Synchronization
import SystemPackage
import Testing

@testable import DurableIO
import DurableRun

@Suite("Progress: rate and ETA", .inATestSlot)
struct ProgressTests {
    @Test func aSlowStartDoesNotDragTheRateDown() async {
        let clock = TestClock()
        let tracker = ProgressTracker(total: 10_000, timekeeper: Timekeeper(clock))
        for _ in 0..<60 {  // one item a second for a minute
            await clock.advance(by: .seconds(1))
            tracker.mark(completed: 1)
        }
        for _ in 0..<60 {  // then ten a second
            await clock.advance(by: .seconds(1))
            tracker.mark(completed: 10)
        }
        let snapshot = tracker.snapshot()
        let rate = try! #require(snapshot.ratePerSecond)
        #expect(abs(rate - 10) < 0.5, "recent rate \(rate), the whole-run average would say 5.5")
        let eta = try! #require(snapshot.etaSeconds)
        #expect(abs(eta - Double(10_000 - 660) / rate) < 1)
    }

    @Test func theRateDecaysAndTheETAGrowsWhileNothingCompletes() async {
        let clock = TestClock()
        let tracker = ProgressTracker(total: 1_000, timekeeper: Timekeeper(clock))
        for _ in 0..<30 {
            await clock.advance(by: .seconds(1))
            tracker.mark(completed: 10)
        }
        let before = tracker.snapshot()
        await clock.advance(by: .seconds(60))
        let after = tracker.snapshot()
        #expect(after.ratePerSecond! < before.ratePerSecond! / 5)
        #expect(after.etaSeconds! > before.etaSeconds! * 5)
        #expect(after.secondsSinceProgress == 60)
    }

    @Test func skippedItemsCountAsDoneButNeverTowardTheRate() async {
        let clock = TestClock()
        let tracker = ProgressTracker(total: 2_000, timekeeper: Timekeeper(clock))
        tracker.skip(1_000)
        for _ in 0..<20 {
            await clock.advance(by: .seconds(1))
            tracker.mark(completed: 1)
        }
        let snapshot = tracker.snapshot()
        #expect(snapshot.done == 1_020)
        #expect(abs(snapshot.ratePerSecond! - 1) < 0.1)
        #expect(abs(snapshot.etaSeconds! - 980 / snapshot.ratePerSecond!) < 0.001)
    }

    @Test func theETAIsUnknownUntilEnoughIsDoneAndProgressNeverPasses100Percent() async {
        let clock = TestClock()
        let tracker = ProgressTracker(total: 10, timekeeper: Timekeeper(clock))
        #expect(tracker.snapshot().ratePerSecond == nil)
        await clock.advance(by: .seconds(10))
        tracker.mark(completed: 5)
        #expect(tracker.snapshot().etaSeconds == nil, "5 items are not enough to mean something")
        #expect(tracker.snapshot().description.contains("ETA unknown"))
        tracker.mark(completed: 7)
        #expect(tracker.snapshot().fraction == 1)
        #expect(tracker.snapshot().etaSeconds == 0)
    }

    @Test func snapshotsAreCodableValues() throws {
        let s = ProgressSnapshot(
            total: 152_265, completed: 41_200, failed: 3, skipped: 0, ratePerSecond: 35.2, etaSeconds: 3154,
            elapsedSeconds: 1200, secondsSinceProgress: 0.5)
        #expect(s.description == "41,203 / 152,265 (27.1 %) · 35.2/s · ETA 52m 34s · 3 failed")
        #expect(try JSONDecoder().decode(ProgressSnapshot.self, from: JSONEncoder().encode(s)) == s)
    }
}

@Suite("Stall watchdog", .ownThreads, .inATestSlot)
struct StallWatchdogTests {
    @Test func itCancelsWorkThatStallsAndNamesTheStall() async throws {
        let clock = TestClock()
        let tracker = ProgressTracker(total: 100, timekeeper: Timekeeper(clock))
        tracker.mark(completed: 7)
        let watchdog = StallWatchdog(tracker: tracker, timeout: .seconds(300))
        let cancelled = Atomic<Bool>(false)
        let advancing = Task {
            try await Task.sleep(for: .milliseconds(50))
            await clock.advance(by: .seconds(301))
        }
        do {
            _ = try await watchdog.run {
                do { try await Task.sleep(for: .seconds(3600)) } catch {
                    cancelled.store(true, ordering: .relaxed)
                    throw error
                }
                return 1
            }
            Issue.record("the stall was not detected")
        } catch let error as DurableIOError {
            #expect(error.code == .stalled)
            #expect(error.message.hasPrefix("no progress for 5m 01s (limit 5m 00s); last progress: 7 / 100 (7.0 %)"))
        }
        let wasCancelled = cancelled.load(ordering: .relaxed)
        #expect(wasCancelled, "the guarded work was cancelled")
        _ = try? await advancing.value
    }

    @Test func workThatIgnoresCancellationEndsTheProcessAfterTheGrace() async throws {
        let child = try ChildProcess(ChildProcess.testHelper, ["stall", "--timeout", "0.2", "--grace", "0.3"])
        #expect(await child.wait() == 7)
        #expect(child.text.contains("no progress for"), "\(child.text)")
        #expect(child.text.contains("last progress: 2 / 10 (20.0 %)"))
        #expect(child.text.contains("the work did not stop within"))
    }

    /// Once every item is done, what is left (the last commit, finalize's rewrite of the output) is not item
    /// progress: CI saw a run of 24 items fail in finalize with "no progress for 6.6s (limit 6s); last progress:
    /// 24 / 24 (100.0 %)" at a load average of 20 — and a big output's finalize can outlast the default 300 s.
    @Test func everyItemDoneIsNoStall() async throws {
        let clock = TestClock()
        let tracker = ProgressTracker(total: 3, timekeeper: Timekeeper(clock))
        tracker.mark(completed: 2)
        let watchdog = StallWatchdog(tracker: tracker, timeout: .seconds(10))
        await clock.advance(by: .seconds(11))
        #expect(watchdog.check()?.code == .stalled, "one item is left: a stall")
        tracker.mark(failed: 1)
        await clock.advance(by: .seconds(60))
        #expect(watchdog.check() == nil, "every item is done (one failed): nothing can stall")
    }

    @Test func itLeavesWorkThatProgressesAlone() async throws {
        let clock = TestClock()
        let tracker = ProgressTracker(total: 100, timekeeper: Timekeeper(clock))
        let watchdog = StallWatchdog(tracker: tracker, timeout: .seconds(10))
        let result = try await watchdog.run {
            for _ in 0..<20 {
                await clock.advance(by: .seconds(5))  // well past the timeout in all, never between marks
                tracker.mark(completed: 5)
                try await Task.sleep(for: .milliseconds(5))
            }
            return "done"
        }
        #expect(result == "done")
        #expect(watchdog.check() == nil)
    }
}

@Suite("Memory, disk and output checks", .ownThreads, .inATestSlot)
struct LimitsTests {
    @Test func aChildThatAllocatesPastItsLimitStopsWithAClearError() async throws {
        let child = try ChildProcess(ChildProcess.testHelper, ["allocate", "--limit-mb", "200"])
        #expect(await child.wait() == 1)
        #expect(child.text.contains("exceeds the 200 MB limit (resident"), "\(child.text)")
        #expect(child.text.contains("memory check failed: resident memory"))
    }

    @Test func itemCommandsInGroupsOfTheirOwnCountAsDescendants() async throws {
        // A real item command: `sh -c` in a process group of its own, running a process that holds 150 MB.
        let command = ItemCommand("'\(ChildProcess.testHelper.path)' hog --mb 150", grace: .milliseconds(100))
        let item = Task { try await command.run() }
        let measured = try await offPool { () -> Int64 in
            let deadline = Date().addingTimeInterval(20)
            var most: Int64 = 0
            while Date() < deadline {
                most = max(most, MemoryUsage.current(includingDescendants: true).children)
                if most >= 140_000_000 { break }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return most
        }
        let alone = MemoryUsage.current()
        item.cancel()  // tears the group down
        _ = try? await item.value
        #expect(measured >= 140_000_000, "descendants: \(MemoryUsage.format(measured))")
        #expect(alone.children == 0)
    }

    @Test func theLimitWarnsOnceThenThrowsWithTheFigures() throws {
        let usage = Mutex(MemoryUsage(resident: 3_300_000_000, swap: 0, peakResident: 0, children: 0))
        let limit = MemoryLimit(bytes: 4_000_000_000, warningFraction: 0.8, processGroup: nil, logger: .init(label: "t")) {
            usage.withLock { $0 }
        }
        #expect(try limit.check().total == 3_300_000_000)
        usage.withLock { $0 = MemoryUsage(resident: 3_900_000_000, swap: 410_000_000, peakResident: 0, children: 0) }
        let error = #expect(throws: DurableIOError.self) { try limit.check() }
        #expect(error?.message == "resident memory 4.31 GB exceeds the 4.00 GB limit (resident 3.90 GB + swap 410 MB)")
        #expect(error?.code == .memoryLimitExceeded)
    }

    @Test func swapCountsTowardTheMeasuredUsage() {
        let usage = MemoryUsage.current()
        #expect(usage.resident > 0)
        #expect(usage.total == usage.resident + usage.swap)
    }

    /// The byte scan of `/proc/PID/status` against the `String` parse it replaced, on this process's real status,
    /// the status of every process on the machine, and random mutations of one (cut lines, odd blanks, letters
    /// where digits go, non-UTF-8 bytes).
    @Test func theStatusScanReadsWhatTheTextParseRead() throws {
        func reference(_ bytes: [UInt8]) -> [String: Int64] {
            var fields: [String: Int64] = [:]
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Vm") {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let field = parts[1].split(whereSeparator: { $0 == " " || $0 == "\t" }).first,
                    field.allSatisfy({ $0.isASCII && $0.isNumber }), field.count <= 15, let kb = Int64(field)
                else { continue }
                fields[String(parts[0])] = kb * 1024
            }
            return fields
        }
        let own = try RealFileSystem().contents(of: "/proc/self/status")
        #expect(MemoryUsage.vmFields(ofStatus: own)["VmRSS"] ?? 0 > 0)
        var samples = [own]
        for entry in try RealFileSystem().listDirectory("/proc") where Int32("\(entry)") != nil {
            if let bytes = try? RealFileSystem().contents(of: FilePath("/proc/\(entry)/status")) { samples.append(bytes) }
        }
        var random = SystemRandomNumberGenerator()
        let alphabet = Array("Vm: \t\n0123456789kBxR-".utf8) + [0xFF, 0xC3, 0x00]
        for _ in 0..<2_000 {
            var bytes = own
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = alphabet.randomElement(using: &random)!
                case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: at)
                default: bytes.remove(at: at)
                }
            }
            samples.append(bytes)
        }
        for sample in samples {
            #expect(MemoryUsage.vmFields(ofStatus: sample) == reference(sample), "\(String(decoding: sample, as: UTF8.self))")
        }
    }

    @Test func anImpossibleDiskRequirementFailsBeforeAnyWork() throws {
        let dir = TemporaryDirectory()
        let error = #expect(throws: DurableIOError.self) { try DiskSpace.require(Int64.max / 2, at: dir.path) }
        #expect(error?.code == .insufficientDiskSpace)
        #expect(error?.message.contains("free at \(dir.path); the job needs 4611686018.43 GB") == true)
        try DiskSpace.require(1, at: dir.path)
    }

    @Test func outputValidationNamesExpectedAndActual() throws {
        try OutputValidation.requireAtLeast(10, rows: 10)
        #expect(throws: DurableIOError.self) { try OutputValidation.requireAtLeast(152_265, rows: 59_812) }
        let fraction = #expect(throws: DurableIOError.self) { try OutputValidation.requireFraction(0.99, of: 1_000, rows: 950) }
        #expect(fraction?.message == "expected at least 99 % of 1,000 rows (990), the output has 950 (95.0 %)")
        let groups = #expect(throws: DurableIOError.self) {
            try OutputValidation.requirePerGroup(minimum: 100, counts: ["train": 900, "val": 40], groups: ["train", "val", "test"])
        }
        #expect(groups?.message == "expected at least 100 rows in each of 3 groups; 2 fall short (val: 40, test: 0)")
    }
}

@Suite("Heartbeat and rendering", .ownThreads, .inATestSlot)
struct HeartbeatAndRenderingTests {
    @Test func aBeatIsLoggedRecordedAndSentToSubscribers() async throws {
        let dir = TemporaryDirectory()
        let record = dir.file("out.heartbeat")
        let tracker = ProgressTracker(total: 10)
        tracker.mark(completed: 3)
        let heartbeat = Heartbeat(tracker: tracker, interval: .seconds(3600), record: record)
        let stream = heartbeat.snapshots()
        heartbeat.beat()
        heartbeat.stop()
        var received: [ProgressSnapshot] = []
        for await snapshot in stream { received.append(snapshot) }
        #expect(received.map(\.completed) == [3])
        let last = try #require(Heartbeat.lastBeat(at: record))
        #expect(last.progress.completed == 3 && last.pid == ProcessInfo.processInfo.processIdentifier)
    }

    /// A beat on another thread whose snapshot was taken before the last items finished must not land after the
    /// last beat: the record would say 4 of 6 for a run that ended at 6 of 6, and `status` that it was killed.
    @Test func theRecordNeverGoesBackToAnEarlierSnapshot() async throws {
        let dir = TemporaryDirectory()
        let record = dir.file("out.heartbeat")
        let tracker = ProgressTracker(total: 2)
        // The thread's beat takes its snapshot (0 of 2), then waits between snapshot and record — in the disk
        // estimate it asks for — until the run's last beat is done, or half a second.
        let threadSnapshotTaken = DispatchSemaphore(value: 0)
        let lastBeatDone = DispatchSemaphore(value: 0)
        let calls = Mutex(0)
        let heartbeat = Heartbeat(
            tracker: tracker, interval: .seconds(3600), record: record,
            spaceEstimate: {
                if calls.withLock({ $0 += 1; return $0 }) == 1 {
                    threadSnapshotTaken.signal()
                    _ = lastBeatDone.wait(timeout: .now() + 0.5)
                }
                return nil
            })
        let threadDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            heartbeat.beat()
            threadDone.signal()
        }
        threadSnapshotTaken.wait()
        tracker.mark(completed: 1)
        heartbeat.beat()  // the run's last beat, at 1 of 2
        lastBeatDone.signal()
        threadDone.wait()
        #expect(Heartbeat.lastBeat(at: record)?.progress.completed == 1, "the record went back to an earlier snapshot")
    }

    @Test func theHeartbeatThreadBeatsOnItsOwn() async throws {
        let tracker = ProgressTracker(total: 10)
        let heartbeat = Heartbeat(tracker: tracker, interval: .milliseconds(20))
        let stream = heartbeat.snapshots()
        heartbeat.start()
        var count = 0
        for await _ in stream {
            count += 1
            if count == 3 { break }
        }
        heartbeat.stop()
        #expect(count == 3)
    }

    func render(_ style: ProgressRenderer.Style) async -> String {
        let clock = TestClock()
        let output = Mutex("")
        let renderer = ProgressRenderer(
            style: style, plainInterval: .seconds(60), timekeeper: Timekeeper(clock),
            write: { text in output.withLock { $0 += text } }, columns: { 80 },
            now: { Date(timeIntervalSince1970: 1_796_220_000) })
        let tracker = ProgressTracker(total: 100, timekeeper: Timekeeper(clock))
        for _ in 0..<100 {  // 100 updates over 10 s
            await clock.advance(by: .milliseconds(100))
            tracker.mark(completed: 1)
            renderer.update(tracker.snapshot())
        }
        renderer.finish("done: 100 rows verified")
        return output.withLock { $0 }
    }

    @Test func aTerminalGetsOneLineRedrawnInPlace() async {
        let text = await render(.terminal)
        #expect(text.hasPrefix("\r\u{1B}[2K[") && text.hasSuffix("\r\u{1B}[2Kdone: 100 rows verified\n"))
        #expect(text.components(separatedBy: "\r").count - 1 <= 101, "at most ten redraws a second")
        #expect(text.contains("##] 100 / 100 (100.0 %)") && !text.contains(".] 100 / 100"), "a full bar at 100 %")
        #expect(text.filter { $0 == "\n" }.count == 1)
    }

    @Test func aPipeGetsPlainLinesWithoutControlCharacters() async {
        let text = await render(.plain)
        #expect(!text.contains("\r") && !text.contains("\u{1B}"))
        #expect(text.split(separator: "\n") == ["2026-12-02T14:00:00Z 1 / 100 (1.0 %) · –/s · elapsed 0s · ETA unknown", "done: 100 rows verified"])
    }

    @Test func quietMeansNothing() async {
        #expect(await render(.quiet) == "")
    }

    @Test func jsonOutputCarriesTheSchema() throws {
        struct Summary: Encodable { var rows: Int }
        #expect(String(decoding: try JSONOutput.line(for: Summary(rows: 3)), as: UTF8.self) == #"{"rows":3,"schema":1}"# + "\n")
        #expect(DurableExitCode(for: DurableIOError(.accountingMismatch, operation: "x", message: "y")) == .consistency)
        #expect(DurableExitCode(for: DurableIOError(.ledgerLocked, operation: "x", message: "y")) == .lockHeld)
    }
}
