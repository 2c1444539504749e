import DurableIO
import DurableIOTesting
import DurableRun
import Foundation
import SystemPackage
import Testing

/// ``ItemCommits``: the items that complete close together share one sync of staging and one of the ledger, rows
/// before keys; a lone item never waits; a failed sync fails every item of its batch and ledgers none of them.
@Suite("Item commits: syncs shared by items that complete close together", .inATestSlot)
struct ItemCommitsTests {
    struct Files {
        let dir = TemporaryDirectory()
        let fs = FaultInjectingFileSystem()
        let staging: StagingFile
        let ledger: KeyLedger
        var stagingPath: FilePath { dir.file("out.jsonl.rows.jsonl") }
        var ledgerPath: FilePath { dir.file("out.jsonl.done") }

        init() throws {
            staging = try StagingFile.open(at: dir.file("out.jsonl.rows.jsonl"), fileSystem: fs)
            ledger = try KeyLedger.open(at: dir.file("out.jsonl.done"), fileSystem: fs)
            fs.clearCalls()
        }

        /// Commits into these files, waiting up to 10 s for running items.
        func commits() -> ItemCommits { ItemCommits(staging: staging, ledger: ledger, window: { _ in .seconds(10) }) }

        /// Two items started and the first, `a`, committing: it waits for the second.
        func firstOfTwoWaiting() async throws -> (ItemCommits, Task<Void, any Error>) {
            let commits = commits()
            commits.started()
            commits.started()
            let first = Task { try await commits.commit(try ItemCommitsTests.row("a")) }
            try await Task.sleep(for: .milliseconds(200))
            return (commits, first)
        }

        /// The syncs of `path` so far, and every sync and write in order as `S`/`L` (staging, ledger).
        func syncs(of path: FilePath) -> Int { fs.calls.filter { $0.operation == .fdatasync && $0.path == path }.count }
        var order: String {
            fs.calls.compactMap { call -> String? in
                guard call.operation == .fdatasync || call.operation == .write else { return nil }
                let file = call.path == stagingPath ? "S" : call.path == ledgerPath ? "L" : "?"
                return (call.operation == .write ? "w" : "s") + file
            }.joined(separator: " ")
        }
    }

    static func row(_ name: String) throws -> KeyedRow { try KeyedRow(key: RecordKey(name), json: Array(#"{"n":1}"#.utf8)) }

    @Test("an item that completes while another runs waits for it, and the two share one sync of each file")
    func itemsCloseTogetherShareTheSyncs() async throws {
        let files = try Files()
        let (commits, first) = try await files.firstOfTwoWaiting()
        #expect(files.syncs(of: files.stagingPath) == 0, "the first item waits for the one still running")
        try await commits.commit(try Self.row("b"))
        try await first.value
        #expect(files.syncs(of: files.stagingPath) == 1 && files.syncs(of: files.ledgerPath) == 1, "\(files.order)")
        #expect(files.order == "wS sS wL sL", "rows written and synced before their keys")
        #expect(files.ledger.keys.count == 2)
    }

    @Test("an item abandoned (failed) ends the wait for it")
    func anAbandonedItemEndsTheWait() async throws {
        let files = try Files()
        let (commits, first) = try await files.firstOfTwoWaiting()
        let started = ContinuousClock.now
        commits.abandoned()
        try await first.value
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(files.syncs(of: files.stagingPath) == 1 && files.ledger.keys.count == 1)
    }

    @Test("a lone item (nothing else running) commits at once, whatever the window")
    func aLoneItemNeverWaits() async throws {
        let files = try Files()
        let commits = files.commits()
        for name in ["a", "b", "c"] {
            commits.started()
            let started = ContinuousClock.now
            try await commits.commit(try Self.row(name))
            #expect(ContinuousClock.now - started < .seconds(5))
        }
        #expect(files.syncs(of: files.stagingPath) == 3 && files.syncs(of: files.ledgerPath) == 3)
    }

    @Test("a failed staging sync fails every item of the batch, and none of their keys reaches the ledger")
    func aFailedSyncFailsTheWholeBatch() async throws {
        let files = try Files()
        let stagingPath = files.stagingPath
        files.fs.inject(Fault(.fdatasync, path: { $0 == stagingPath }, error: .ioError))
        let (commits, first) = try await files.firstOfTwoWaiting()
        await #expect(throws: DurableIOError.self) { try await commits.commit(try Self.row("b")) }
        await #expect(throws: DurableIOError.self) { try await first.value }
        #expect(files.syncs(of: files.ledgerPath) == 0 && files.ledger.keys.isEmpty)
        #expect(try KeyLedger.recover(at: files.ledgerPath).keys.isEmpty)
    }
}
