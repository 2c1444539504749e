import DurableIO
import DurableRun
import Foundation
import Synchronization
import SystemPackage
import Testing

@Suite("Checkpointed run", .inATestSlot)
struct CheckpointedRunTests {
    let keys = (0..<200).map { RecordKey(String(format: "clip_%06d", $0)) }

    func options(jobs: Int = 8, budget: CheckpointedRun.FailureBudget? = nil) -> CheckpointedRun.Options {
        .init(jobs: jobs, failureBudget: budget, stallTimeout: nil, heartbeatInterval: nil, recovery: quietRecovery)
    }

    static func row(_ key: RecordKey) -> [UInt8] { Array(#"{"length":\#(key.bytes.count)}"#.utf8) }

    @Test func runsEveryInputOnceAndARerunVerifiesBeforeSayingComplete() async throws {
        let dir = TemporaryDirectory()
        let run = CheckpointedRun(output: dir.file("out.jsonl"), options: options())
        let report = try await run.run(inputs: keys + keys.prefix(10)) { Self.row($0) }
        #expect(report.completed == 200 && report.failed == 0 && report.rowsVerified == 200 && report.inputs == 200)
        #expect(report.description == "complete: 200 rows verified (0 already done, 200 extracted, 0 failed)")
        let census = try KeyCensus.scan(rowsAt: run.output)
        #expect(census.rowCount == 200 && census.duplicateCount == 0)
        #expect(!dir.names.contains("out.jsonl.rows.jsonl"))

        let extracted = Atomic<Int>(0)
        let again = try await run.run(inputs: keys) { key in
            extracted.add(1, ordering: .relaxed)
            return Self.row(key)
        }
        #expect(extracted.load(ordering: .relaxed) == 0)
        #expect(again.description == "complete: 200 rows verified (200 already done, 0 extracted, 0 failed)")
    }

    @Test("A rerun with nothing pending over a final output confirms it in place; an output with a duplicate is rewritten")
    func aRerunOverAFinalOutputDoesNotRewriteIt() async throws {
        let dir = TemporaryDirectory()
        let run = CheckpointedRun(output: dir.file("out.jsonl"), options: options())
        _ = try await run.run(inputs: keys) { Self.row($0) }
        let inode = { try FileManager.default.attributesOfItem(atPath: run.output.string)[.systemFileNumber] as? Int }
        let written = try inode()

        let again = try await run.run(inputs: keys) { Self.row($0) }
        #expect(again.description == "complete: 200 rows verified (200 already done, 0 extracted, 0 failed)")
        #expect(try inode() == written, "the final output was written again")
        #expect(!dir.names.contains("out.jsonl.rows.jsonl"), "the empty staging file the rerun opened was not removed")

        // A duplicate row makes the output not final: the rerun composes it again, one row per key.
        writeRaw(readFile(run.output) + readFile(run.output).prefix { $0 != 0x0A } + [0x0A], to: run.output)
        let mended = try await run.run(inputs: keys) { Self.row($0) }
        #expect(mended.rowsVerified == 200 && mended.duplicatesDropped == 1)
        #expect(try inode() != written)
        #expect(try KeyCensus.scan(rowsAt: run.output).duplicateCount == 0)

        // Nothing pending but one more input: not a confirmation, a run.
        let more = try await run.run(inputs: keys + ["clip_extra"]) { Self.row($0) }
        #expect(more.completed == 1 && more.rowsVerified == 201)
    }

    @Test func failuresAreRecordedNotLedgeredAndRetriedNextRun() async throws {
        let dir = TemporaryDirectory()
        let run = CheckpointedRun(output: dir.file("out.jsonl"), options: options())
        struct Flaky: Error, CustomStringConvertible { var description: String { "exit status 2: no such codec" } }
        let first = try await run.run(inputs: keys) { key in
            if key.string!.hasSuffix("7") { throw Flaky() }
            return Self.row(key)
        }
        #expect(first.failed == 20 && first.completed == 180 && first.rowsVerified == 180)
        let failures = try Ledger<FailedAttempt>.recover(at: run.errorsPath).entries
        #expect(failures.count == 20 && failures.allSatisfy { $0.attempt == 1 && $0.message == "exit status 2: no such codec" })
        #expect(try KeyLedger.recover(at: run.ledgerPath).keys.count == 180)

        let second = try await run.run(inputs: keys) { Self.row($0) }
        #expect(second.completed == 20 && second.alreadyDone == 180 && second.rowsVerified == 200)
    }

    @Test func theFailureBudgetStopsTheRunEarlyAndKeepsWhatCompleted() async throws {
        let dir = TemporaryDirectory()
        let run = CheckpointedRun(output: dir.file("out.jsonl"), options: options(jobs: 1, budget: .count(3)))
        struct Broken: Error {}
        let error = await #expect(throws: RunError.self) {
            _ = try await run.run(inputs: keys) { key in
                if key.string! >= "clip_000050" { throw Broken() }
                return Self.row(key)
            }
        }
        #expect(error?.code == .failureBudgetExceeded)
        #expect(error?.message.hasPrefix("4 items failed, past the budget") == true)
        #expect(try KeyLedger.recover(at: run.ledgerPath).keys.count == 50, "what completed is durable")
        let resumed = try await run.run(inputs: keys) { Self.row($0) }
        #expect(resumed.alreadyDone == 50 && resumed.rowsVerified == 200)
    }

    @Test func theIncidentIsRefusedBeforeAnyWork() async throws {
        let dir = TemporaryDirectory()
        let run = CheckpointedRun(output: dir.file("out.jsonl"), options: options())
        _ = try await run.run(inputs: keys) { Self.row($0) }
        // The output loses rows behind the ledger's back.
        let lines = readText(run.output).split(separator: "\n").prefix(80)
        writeRaw(lines.joined(separator: "\n") + "\n", to: run.output)
        let before = readFile(run.ledgerPath)
        let error = await #expect(throws: DurableIOError.self) { _ = try await run.run(inputs: keys) { Self.row($0) } }
        #expect(error?.code == .accountingMismatch)
        // The message names the missing keys in order; which ones are missing depends on the order concurrent
        // items reached the output in.
        let kept = Set(lines.map { String($0.split(separator: "\"")[3]) })
        let firstMissing = readText(run.ledgerPath).split(separator: "\n").map { String($0.split(separator: "\"")[3]) }
            .filter { !kept.contains($0) }.sorted().first
        #expect(error?.message.hasPrefix("ledger lists 200 keys but output and staging hold 80: 120 missing (first: \(firstMissing ?? "?")") == true, "\(error?.message ?? "")")
        #expect(error?.hint?.contains("durable-extract repair --output") == true)
        #expect(readFile(run.ledgerPath) == before, "nothing was changed")
    }

    @Test func stagedRowsWhoseKeyNeverReachedTheLedgerAreKept() async throws {
        let dir = TemporaryDirectory()
        let run = CheckpointedRun(output: dir.file("out.jsonl"), options: options())
        // A crash between the staging append and the ledger insert.
        let staging = try StagingFile.open(at: run.stagingPath)
        try await staging.append(KeyedRow(key: keys[0], json: Self.row(keys[0])))
        try staging.close()
        let extracted = Mutex<[RecordKey]>([])
        let report = try await run.run(inputs: keys) { key in
            extracted.withLock { $0.append(key) }
            return Self.row(key)
        }
        #expect(report.alreadyDone == 1 && report.completed == 199 && report.rowsVerified == 200)
        #expect(!extracted.withLock { $0 }.contains(keys[0]))
    }

    @Test func aSecondRunOnTheSameOutputIsRefusedNamingTheHolder() async throws {
        let dir = TemporaryDirectory()
        let run = CheckpointedRun(output: dir.file("out.jsonl"), options: options())
        let holder = FileLock(at: run.lockPath)
        #expect(try holder.tryAcquire())
        let error = await #expect(throws: DurableIOError.self) { _ = try await run.run(inputs: keys) { Self.row($0) } }
        #expect(error?.code == .lockHeld)
        #expect(error?.message.hasPrefix("out.jsonl.lock is held by pid \(ProcessInfo.processInfo.processIdentifier)") == true)
        try holder.release()
    }
}
