import DurableIO
import DurableIOTesting
import Foundation
import SystemPackage
import Testing

@Suite("Staging, accounting and finalize", .ownThreads, .inATestSlot)
struct StagingAndAccountingTests {
    func row(_ key: RecordKey, _ json: String) throws -> KeyedRow { try KeyedRow(key: key, json: Array(json.utf8)) }

    @Test func rowsKeepTheirBytesAndGainTheKeyFirst() throws {
        let r = try row("k1", "{\n  \"big\": 18446744073709551615,\n  \"x\": 1.50\n}")
        #expect(String(decoding: r.line, as: UTF8.self) == #"{"key":"k1",  "big": 18446744073709551615,  "x": 1.50}"#)
        #expect(String(decoding: try row("k2", "{}").line, as: UTF8.self) == #"{"key":"k2"}"#)
        #expect(throws: DurableIOError.self) { try row("k", "[1,2]") }
        #expect(throws: DurableIOError.self) { try row("k", #"{"key":"clash"}"#) }
        #expect(throws: DurableIOError.self) { try row("k", #"{"a":"#) }
    }

    @Test func stagingRecoveryCountsDuplicatesAndMalformedLines() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("out.rows.jsonl")
        do {
            let staging = try StagingFile.open(at: path)
            try staging.append(row("a", #"{"v":1}"#))
            try staging.append(contentsOf: [row("b", #"{"v":2}"#), row("a", #"{"v":3}"#)])
            try staging.close()
        }
        var bytes = readFile(path)
        bytes += Array("{oops}\n{\"key\":\"c\",\"v\":4}\n{\"key\":\"d\",\"v".utf8)
        writeRaw(bytes, to: path)
        let found = try StagingFile.recover(at: path)
        #expect(found.keys == ["a", "b", "c"])
        #expect(found.duplicateCount == 1 && found.sampleDuplicateKeys == ["a"])
        #expect(found.report.malformedLineCount == 1 && found.report.malformedLines[0].lineNumber == 4)
        #expect(found.report.tornTail != nil)
    }

    /// The incident of seed 000: a ledger of 152,265 keys over an output of 59,812 rows.
    @Test func theIncidentFailsTheRestartCheckAndNames92453Missing() throws {
        let dir = TemporaryDirectory()
        let ledgerPath = dir.file("k150k.jsonl.done")
        let output = dir.file("k150k.jsonl")
        let keys = (0..<152_265).map { RecordKey(String(format: "clip_%06d", $0)) }
        do {
            let ledger = try KeyLedger.open(at: ledgerPath)
            try ledger.insert(contentsOf: keys)
            try ledger.close()
        }
        // The output lost every key from 17 on, but kept the last 59,795 (as a truncated rename could).
        var text = ""
        for (i, key) in keys.enumerated() where i < 17 || i >= 152_265 - 59_795 {
            text += #"{"key":"\#(key.string!)","frames":1}"# + "\n"
        }
        writeRaw(text, to: output)
        let done = try KeyLedger.recover(at: ledgerPath).keys
        let present = try KeyCensus.scan(rowsAt: output)
        #expect(present.rowCount == 59_812)
        let error = #expect(throws: DurableIOError.self) {
            try RowAccounting.checkRestart(
                ledger: done, output: present, staging: try StagingFile.recover(at: dir.file("k150k.jsonl.rows.jsonl")).census,
                hint: "To re-extract them: durable-extract repair --output k150k.jsonl")
        }
        #expect(error?.code == .accountingMismatch)
        #expect(
            error?.message
                == "ledger lists 152,265 keys but output and staging hold 59,812: 92,453 missing (first: clip_000017, clip_000018, clip_000019, clip_000020, clip_000021, …)"
        )
        #expect(error?.hint == "Nothing was changed. To re-extract them: durable-extract repair --output k150k.jsonl")
        #expect(error?.accounting?.missingCount == 92_453)
    }

    @Test func reconcileByKeyFindsLossHiddenBehindDuplicates() {
        // Same count (3 rows for 3 keys) but "c" is missing and "a" is there twice.
        let present = KeyCensus(keys: ["a", "a", "b"])
        let result = RowAccounting.reconcile(ledger: ["a", "b", "c"], present: present.keys, duplicateCount: present.duplicateCount)
        #expect(present.rowCount == 3)
        #expect(result.missingCount == 1 && result.sampleMissing == ["c"])
        #expect(result.duplicateCount == 1)
        let extra = RowAccounting.reconcile(ledger: ["a"], present: ["a", "z"])
        #expect(extra.unexpectedCount == 1 && extra.sampleUnexpected == ["z"] && extra.isConsistent)
    }

    @Test func endOfRunAccountingRequiresRecoveredPlusCompleted() throws {
        try RowAccounting.checkEndOfRun(final: KeyCensus(keys: ["a", "b", "c"]), recoveredRows: 1, completedThisRun: 2)
        let error = #expect(throws: DurableIOError.self) {
            try RowAccounting.checkEndOfRun(final: KeyCensus(keys: ["a", "b"]), recoveredRows: 1, completedThisRun: 2)
        }
        #expect(error?.message == "expected 3 rows (1 recovered + 2 completed in this run), the output holds 2 with 0 duplicate keys")
    }

    @Test func finalizeMergesStagingWinsAndRemovesStagingLast() throws {
        let dir = TemporaryDirectory()
        let output = dir.file("out.jsonl")
        let stagingPath = dir.file("out.jsonl.rows.jsonl")
        writeRaw(#"{"key":"a","v":"old"}"# + "\n" + #"{"key":"b","v":"old"}"# + "\n", to: output)
        let staging = try StagingFile.open(at: stagingPath)
        try staging.append(row("b", #"{"v":"new"}"#))
        try staging.append(row("c", #"{"v":"first"}"#))
        try staging.append(row("c", #"{"v":"second"}"#))
        try staging.close()

        let fs = FaultInjectingFileSystem()
        let report = try Finalizer(output: output, staging: stagingPath, fileSystem: fs)
            .finalize(ledger: ["a", "b", "c"], recoveredRows: 3, completedThisRun: 0)
        #expect(report.rowsWritten == 3 && report.rowsFromOutput == 1 && report.rowsFromStaging == 2)
        #expect(report.replacedByStaging == 1 && report.duplicatesDropped == 1)
        #expect(
            readText(output)
                == #"{"key":"a","v":"old"}"# + "\n" + #"{"key":"b","v":"new"}"# + "\n" + #"{"key":"c","v":"second"}"# + "\n")
        #expect(dir.names == ["out.jsonl"])

        // fsync of the new output and of the directory come before the unlink of staging.
        let calls = fs.calls
        let unlink = try #require(calls.firstIndex { $0 == SyscallRecord(operation: .unlink, path: stagingPath) })
        let rename = try #require(calls.firstIndex { $0 == SyscallRecord(operation: .rename, path: output) })
        let fileSync = try #require(calls.firstIndex { $0.operation == .fsync && $0.path?.string.contains(".out.jsonl.durable-tmp-") == true })
        let dirSync = try #require(calls[rename...].firstIndex { $0 == SyscallRecord(operation: .fsync, path: dir.path) })
        #expect(fileSync < rename && rename < dirSync && dirSync < unlink)
        #expect(calls[unlink...].contains { $0 == SyscallRecord(operation: .fsync, path: dir.path) })
    }

    @Test func finalizeKeepsStagingWhenAccountingFails() throws {
        let dir = TemporaryDirectory()
        let output = dir.file("out.jsonl")
        let stagingPath = dir.file("out.jsonl.rows.jsonl")
        let staging = try StagingFile.open(at: stagingPath)
        try staging.append(row("a", #"{"v":1}"#))
        try staging.close()
        let error = #expect(throws: DurableIOError.self) {
            try Finalizer(output: output, staging: stagingPath).finalize(ledger: ["a", "lost"])
        }
        #expect(error?.code == .accountingMismatch)
        #expect(error?.message.contains("1 missing (first: lost)") == true)
        #expect(dir.names.contains("out.jsonl.rows.jsonl"))
    }
}

@Suite("Finalize fails closed", .ownThreads, .inATestSlot)
struct FinalizeFailsClosedTests {
    @Test func aDamagedOutputIsNeverRewrittenWithoutItsBadLines() throws {
        let dir = TemporaryDirectory()
        let output = dir.file("out.jsonl")
        let stagingPath = dir.file("out.jsonl.rows.jsonl")
        let damaged = #"{"key":"a","v":1}"# + "\nnot a row\n"
        writeRaw(damaged, to: output)
        let staging = try StagingFile.open(at: stagingPath)
        try staging.append(KeyedRow(key: "b", json: Array(#"{"v":2}"#.utf8)))
        try staging.close()
        let error = #expect(throws: DurableIOError.self) {
            try Finalizer(output: output, staging: stagingPath).finalize(ledger: ["a", "b"])
        }
        #expect(error?.message == "the output has 1 malformed row(s) and 0 torn byte(s); finalize would drop them")
        #expect(readText(output) == damaged)
        #expect(dir.names == ["out.jsonl", "out.jsonl.rows.jsonl"])
    }
}
