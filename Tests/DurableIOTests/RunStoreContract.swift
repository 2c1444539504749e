import DurableIO
import DurablePostgres
import DurableRunStore
import DurableSQLite
import Foundation
import GRDB
import PostgresNIO
import Testing

@testable import DurablePostgres

/// One result row as a store holds it, for checks both backends answer the same way.
struct StoredResultRow: Equatable {
    var attempts: Int
    var errorOccurred: Int
    var firstError: String?
    var lastError: String?
    var category: String?
    var output: String?
}

/// Makes a store of one backend for one test, and reads what the protocol does not expose.
protocol StoreFactory: Sendable {
    func make(in dir: TemporaryDirectory) async throws -> any RunStore
    func results(in store: any RunStore) async throws -> Int
    func result(in store: any RunStore, itemID: Int64) async throws -> StoredResultRow?
    func dispose(_ store: any RunStore) async
}

struct SQLiteFactory: StoreFactory {
    func make(in dir: TemporaryDirectory) async throws -> any RunStore { try SQLiteRunStore(path: dir.file("runs.sqlite").string) }

    func results(in store: any RunStore) async throws -> Int {
        try await (store as! SQLiteRunStore).pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM results")! }
    }

    func result(in store: any RunStore, itemID: Int64) async throws -> StoredResultRow? {
        try await (store as! SQLiteRunStore).pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM results WHERE item_id = ?", arguments: [itemID]).map { row in
                StoredResultRow(
                    attempts: row["attempt_count"], errorOccurred: row["error_occurred"], firstError: row["first_error_message"],
                    lastError: row["last_error_message"], category: row["error_category"], output: row["output"])
            }
        }
    }

    func dispose(_ store: any RunStore) async {}
}

struct PostgresFactory: StoreFactory {
    func make(in dir: TemporaryDirectory) async throws -> any RunStore { try await PostgresTestServer.makeStore() }

    func results(in store: any RunStore) async throws -> Int {
        try await PostgresTestServer.int(store as! PostgresRunStore, "SELECT count(*) FROM results")
    }

    func result(in store: any RunStore, itemID: Int64) async throws -> StoredResultRow? {
        try await (store as! PostgresRunStore).rows(
            "test",
            """
            SELECT attempt_count, error_occurred, first_error_message, last_error_message, error_category, output
            FROM results WHERE item_id = \(itemID)
            """
        ).first.map { row in
            let (a, e, f, l, c, o) = try row.decode((Int, Int, String?, String?, String?, String?).self)
            return StoredResultRow(attempts: a, errorOccurred: e, firstError: f, lastError: l, category: c, output: o)
        }
    }

    func dispose(_ store: any RunStore) async { await PostgresTestServer.drop(store as! PostgresRunStore) }
}

/// The store semantics both backends keep, run by ``SQLiteStoreContractTests`` and ``PostgresStoreContractTests``.
enum RunStoreContract {
    static func fixture(_ text: String, name: String = "n.csv") -> (TemporaryDirectory, String) {
        let dir = TemporaryDirectory()
        writeRaw(text, to: dir.file(name))
        return (dir, dir.file(name).string)
    }

    static func with(_ factory: any StoreFactory, _ dir: TemporaryDirectory, _ body: (any RunStore) async throws -> Void) async throws {
        let store = try await factory.make(in: dir)
        do { try await body(store) } catch {
            await factory.dispose(store)
            throw error
        }
        await factory.dispose(store)
    }

    static func ingestCSV(_ factory: any StoreFactory) async throws {
        let (dir, csv) = fixture("incident_id,narrative_type,text\n17,A,\"a, b\"\n17,B,\"line\nbreak\"\n18,A,x\n")
        try await with(factory, dir) { store in
            let source = try SourceFile(path: csv, idColumns: ["incident_id", "narrative_type"])
            let first = try await store.ingest(source, allowNewVersion: false)
            #expect(!first.skipped)
            #expect(first.source.itemCount == 3 && first.source.version == 1)
            #expect(first.source.checksum == (try SourceChecksum.sha256(ofFileAt: csv)))
            #expect(first.source.checksum.count == 64)
            let again = try await store.ingest(source, allowNewVersion: false)
            #expect(again.skipped && again.source.id == first.source.id && again.source.checksum == first.source.checksum)
            let run = try await store.createRun(id: "r", name: nil, source: first.source, configuration: .init(command: "cat"), startedAt: Date())
            let items = try await store.remainingItems(forRun: run.id, selection: .missingOnly)
            #expect(items.map(\.key) == [#"["17","A"]"#, #"["17","B"]"#, #"["18","A"]"#])
            #expect(items[1].json == #"{"incident_id":"17","narrative_type":"B","text":"line\nbreak"}"#)
            #expect(try await store.run(id: "r")?.totalItems == 3)
            #expect(try await store.run(id: "nope") == nil)
        }
    }

    static func ingestKeepsEveryCharacter(_ factory: any StoreFactory) async throws {
        // What the PostgreSQL COPY text format escapes (tab, backslash, line feed, carriage return, a literal \N),
        // in keys and values, beside quotes and characters outside ASCII.
        let text = "id,v\n\"t\tab\",\"back\\slash \\N \\t\"\n\\N,\"cr\r\nlf\rcr\"\n\"é \"\"q\"\"\",\"\u{1F600}\ttab\"\n"
        let (dir, csv) = fixture(text)
        try await with(factory, dir) { store in
            let source = try SourceFile(path: csv, idColumns: ["id"])
            var expected: [String] = []
            try SourceReader.read(source) { key, json in expected.append("\(key)=\(json)") }
            #expect(expected.count == 3)
            let stored = try await store.ingest(source, allowNewVersion: false).source
            #expect(stored.itemCount == 3)
            let run = try await store.createRun(id: "r", name: nil, source: stored, configuration: .init(command: "cat"), startedAt: Date())
            let items = try await store.remainingItems(forRun: run.id, selection: .missingOnly)
            #expect(items.map { "\($0.key)=\($0.json)" } == expected)
            #expect(items.map(\.position) == [0, 1, 2])
        }
    }

    static func versionedSources(_ factory: any StoreFactory) async throws {
        let (dir, csv) = fixture("id,v\n1,a\n2,b\n")
        try await with(factory, dir) { store in
            let source = try SourceFile(path: csv, idColumns: ["id"])
            let v1 = try await store.ingest(source, allowNewVersion: false).source
            let run = try await store.createRun(id: "r", name: nil, source: v1, configuration: .init(command: "cat"), startedAt: Date())
            writeRaw("id,v\n1,a\n2,b\n3,c\n", to: dir.file("n.csv"))
            let error = await #expect(throws: DurableRunStoreError.self) { try await store.ingest(source, allowNewVersion: false) }
            #expect(error?.code == .sourceChanged)
            #expect(error?.message.contains(v1.checksum) == true)
            #expect(error?.hint?.contains("--new-version") == true)
            let v2 = try await store.ingest(source, allowNewVersion: true).source
            #expect(v2.version == 2 && v2.itemCount == 3)
            #expect(try await store.remainingItems(forRun: run.id, selection: .missingOnly).count == 2, "pinned to v1")
            #expect(try await store.sourceVersions(named: "n.csv").map(\.version) == [1, 2])
        }
    }

    static func ingestErrors(_ factory: any StoreFactory) async throws {
        let (dir, jsonl) = fixture("{\"id\":1,\"t\":\"a\"}\n\n{\"id\":2,\"t\":\"b\"}\n{\"id\":1,\"t\":\"c\"}\n", name: "n.jsonl")
        try await with(factory, dir) { store in
            let duplicate = await #expect(throws: DurableRunStoreError.self) {
                try await store.ingest(try SourceFile(path: jsonl, idColumns: ["id"]), allowNewVersion: false)
            }
            #expect(duplicate?.code == .duplicateItemID)
            #expect(duplicate?.message.contains("item 3") == true)
            #expect(try await store.sourceVersions(named: "n.jsonl").isEmpty, "nothing stored")
            let missing = await #expect(throws: DurableRunStoreError.self) {
                try await store.ingest(try SourceFile(path: jsonl, idColumns: ["nope"]), allowNewVersion: false)
            }
            #expect(missing?.code == .invalidSource)
            #expect(missing?.message.contains("line 1") == true)
            writeRaw("{\"id\":1}\n{\"id\":2}\n", to: dir.file("n.jsonl"))
            let ok = try await store.ingest(try SourceFile(path: jsonl, idColumns: ["id"]), allowNewVersion: false)
            #expect(ok.source.itemCount == 2 && ok.source.format == .jsonl)
            let (other, csv) = fixture("a,b\n1,2\n")
            defer { _ = other }
            let column = await #expect(throws: DurableRunStoreError.self) {
                try await store.ingest(try SourceFile(path: csv, idColumns: ["id"]), allowNewVersion: false)
            }
            #expect(column?.message.contains("the id column 'id' is not in the header") == true)
        }
    }

    static func idempotentUpsert(_ factory: any StoreFactory) async throws {
        let (dir, csv) = fixture("id\n1\n2\n")
        try await with(factory, dir) { store in
            let source = try await store.ingest(try SourceFile(path: csv, idColumns: ["id"]), allowNewVersion: false).source
            let run = try await store.createRun(id: "r", name: nil, source: source, configuration: .init(command: "cat"), startedAt: Date())
            let items = try await store.remainingItems(forRun: "r", selection: .missingOnly)
            let failure = ItemFailure(message: "exit status 2", category: "command")
            _ = try await store.commit([ItemResult(itemID: items[0].id, error: failure)], forRun: run.id, progress: .init(etaSeconds: 60))
            var after = try await store.commit(
                [ItemResult(itemID: items[0].id, error: ItemFailure(message: "timed out", category: "timeout")),
                 ItemResult(itemID: items[1].id, output: "{}")], forRun: run.id, progress: .init(etaSeconds: 30))
            #expect(after.failedCount == 1 && after.completedCount == 1)
            #expect(after.estimatedCompletionAt != nil)
            #expect(try await store.remainingItems(forRun: "r", selection: .retryErrorsOnly).map(\.id) == [items[0].id])
            #expect(try await store.remainingItems(forRun: "r", selection: .missingOnly).isEmpty)
            after = try await store.commit([ItemResult(itemID: items[0].id, output: #"{"ok":true}"#)], forRun: run.id, progress: .init(etaSeconds: nil))
            #expect(after.failedCount == 0 && after.completedCount == 2)
            #expect(try await factory.results(in: store) == 2)
            let row = try #require(try await factory.result(in: store, itemID: items[0].id))
            #expect(row == StoredResultRow(
                attempts: 3, errorOccurred: 0, firstError: "exit status 2", lastError: "timed out", category: nil,
                output: #"{"ok":true}"#))
            let final = try await store.finalize(runID: run.id, session: .init(items: 4, seconds: 2), at: Date())
            #expect(final.status == .completed)
            #expect(final.finalMetrics?.attempts == 4)
            #expect(final.finalMetrics?.itemsPerSecond == 2)
            #expect(try await store.currentState(of: final) == .completed)
        }
    }

    static func remainingItemsPage(_ factory: any StoreFactory) async throws {
        let (dir, csv) = fixture("id\n" + (0..<23).map { "\($0)\n" }.joined())
        try await with(factory, dir) { store in
            let source = try await store.ingest(try SourceFile(path: csv, idColumns: ["id"]), allowNewVersion: false).source
            _ = try await store.createRun(id: "r", name: nil, source: source, configuration: .init(command: "cat"), startedAt: Date())
            let all = try await store.remainingItems(forRun: "r", selection: .missingOnly, after: nil, limit: 100)
            #expect(all.map(\.key) == (0..<23).map { "\($0)" })
            // Every third item succeeded, every fifth failed.
            let done = all.enumerated().filter { $0.offset % 3 == 0 || $0.offset % 5 == 0 }.map { index, item in
                index % 5 == 0 && index % 3 != 0
                    ? ItemResult(itemID: item.id, error: ItemFailure(message: "exit status 2", category: "command"))
                    : ItemResult(itemID: item.id, output: "{}")
            }
            _ = try await store.commit(done, forRun: "r", progress: .init(etaSeconds: nil))
            for (selection, expected) in [
                (WorkSelection.missingOnly, all.indices.filter { $0 % 3 != 0 && $0 % 5 != 0 }),
                (.retryErrorsOnly, all.indices.filter { $0 % 5 == 0 && $0 % 3 != 0 }),
            ] {
                for limit in [1, 2, 4, 7, 50] {
                    var paged: [SourceItem] = []
                    while true {
                        let page = try await store.remainingItems(forRun: "r", selection: selection, after: paged.last?.position, limit: limit)
                        #expect(page.count <= limit)
                        paged += page
                        if page.count < limit { break }
                    }
                    #expect(paged.map(\.position) == expected.map { all[$0].position }, "\(selection), pages of \(limit)")
                }
                #expect(try await store.remainingItems(forRun: "r", selection: selection).map(\.position) == expected.map { all[$0].position })
            }
            let none = try await store.remainingItems(forRun: "r", selection: .missingOnly, after: all.last?.position, limit: 5)
            #expect(none.isEmpty)
            let missing = await #expect(throws: DurableRunStoreError.self) {
                try await store.remainingItems(forRun: "nope", selection: .missingOnly, after: nil, limit: 5)
            }
            #expect(missing?.code == .runNotFound)
        }
    }

    /// The run's counts after each commit equal a count of its results, whatever each result replaces (none, a
    /// success, an error), and the items left always start at the first item without a result.
    static func countsFollowEachCommit(_ factory: any StoreFactory) async throws {
        let (dir, csv) = fixture("id\n" + (0..<12).map { "\($0)\n" }.joined())
        try await with(factory, dir) { store in
            let source = try await store.ingest(try SourceFile(path: csv, idColumns: ["id"]), allowNewVersion: false).source
            _ = try await store.createRun(id: "r", name: nil, source: source, configuration: .init(command: "cat"), startedAt: Date())
            let all = try await store.remainingItems(forRun: "r", selection: .missingOnly)
            func ok(_ index: Int) -> ItemResult { ItemResult(itemID: all[index].id, output: "{}") }
            func failed(_ index: Int) -> ItemResult {
                ItemResult(itemID: all[index].id, error: ItemFailure(message: "exit status 2", category: "command"))
            }
            let commits: [(results: [ItemResult], succeeded: Int, failed: Int, left: [Int])] = [
                ([ok(0), ok(1), ok(2), failed(4)], 3, 1, [3] + Array(5..<12)),
                ([ok(3), ok(4), ok(0)], 5, 0, Array(5..<12)),  // an error replaced by a success; a success again
                ([failed(2), ok(6)], 5, 1, [5] + Array(7..<12)),  // a success replaced by an error
                ([ok(5)], 6, 1, Array(7..<12)),
                ((7..<12).map(ok), 11, 1, []),
            ]
            for (number, commit) in commits.enumerated() {
                let run = try await store.commit(commit.results, forRun: "r", progress: .init(etaSeconds: nil))
                #expect(run.completedCount == commit.succeeded && run.failedCount == commit.failed, "after commit \(number + 1)")
                let stored = try await store.results(ofRun: "r").results
                #expect(stored.filter { $0.status == .succeeded }.count == commit.succeeded, "recounted after commit \(number + 1)")
                #expect(stored.filter { $0.status == .failed }.count == commit.failed, "recounted after commit \(number + 1)")
                let left = try await store.remainingItems(forRun: "r", selection: .missingOnly, after: nil, limit: 3)
                #expect(left.map(\.position) == commit.left.prefix(3).map { all[$0].position }, "after commit \(number + 1)")
            }
        }
    }

    static func resultsReadBack(_ factory: any StoreFactory) async throws {
        let (dir, csv) = fixture("id\n1\n2\n3\n4\n")
        try await with(factory, dir) { store in
            let source = try await store.ingest(try SourceFile(path: csv, idColumns: ["id"]), allowNewVersion: false).source
            _ = try await store.createRun(id: "r", name: nil, source: source, configuration: .init(command: "cat"), startedAt: Date())
            let items = try await store.remainingItems(forRun: "r", selection: .missingOnly)
            let at = Date(timeIntervalSince1970: 1_796_221_471)
            _ = try await store.commit(
                [ItemResult(itemID: items[2].id, output: #"{"a":1}"#, attemptedAt: at),
                 ItemResult(itemID: items[0].id, error: ItemFailure(message: "exit status 2", category: "command"), attemptedAt: at)],
                forRun: "r", progress: .init(etaSeconds: nil))
            _ = try await store.commit(
                [ItemResult(itemID: items[0].id, error: ItemFailure(message: "timed out", category: "timeout"), attemptedAt: at)],
                forRun: "r", progress: .init(etaSeconds: nil))
            let read = try await store.results(ofRun: "r")
            #expect(read.run.id == "r" && read.storedCount == 2)
            #expect(read.results == [
                RecordedResult(itemKey: "1", position: items[0].position, status: .failed, output: nil, errorMessage: "timed out",
                               errorCategory: "timeout", attempts: 2, lastAttemptAt: at),
                RecordedResult(itemKey: "3", position: items[2].position, status: .succeeded, output: #"{"a":1}"#, errorMessage: nil,
                               errorCategory: nil, attempts: 1, lastAttemptAt: at),
            ], "source order, the last error, attempts over the run; items without a result are not read")
            let missing = await #expect(throws: DurableRunStoreError.self) { try await store.results(ofRun: "nope") }
            #expect(missing?.code == .runNotFound)
        }
    }

    static func finalizeAndResume(_ factory: any StoreFactory) async throws {
        let (dir, csv) = fixture("id\n1\n2\n3\n")
        try await with(factory, dir) { store in
            let source = try await store.ingest(try SourceFile(path: csv, idColumns: ["id"]), allowNewVersion: false).source
            let run = try await store.createRun(id: "r", name: "n", source: source, configuration: .init(command: "cat"), startedAt: Date())
            #expect(try await store.currentState(of: run) == .interrupted, "running, and nobody works on it")
            let items = try await store.remainingItems(forRun: "r", selection: .missingOnly)
            _ = try await store.commit(
                [ItemResult(itemID: items[0].id, output: "1"), ItemResult(itemID: items[1].id, error: ItemFailure(message: "no", category: "command"))],
                forRun: "r", progress: .init(etaSeconds: nil))
            let failed = try await store.finalize(runID: "r", session: .init(items: 2, seconds: 1), at: Date())
            #expect(failed.status == .failed && failed.missingCount == 1 && failed.finishedAt != nil)
            #expect(failed.finalMetrics?.missing == 1)
            #expect(try await store.currentState(of: failed) == .failed)
            let resumed = try await store.markResumed(runID: "r")
            #expect(resumed.status == .running && resumed.finishedAt == nil)
            #expect(try await store.runs().map(\.id) == ["r"])
            let missing = await #expect(throws: DurableRunStoreError.self) { try await store.markResumed(runID: "nope") }
            #expect(missing?.code == .runNotFound)
        }
    }
}

@Suite("RunStore contract: SQLite", .inATestSlot)
struct SQLiteStoreContractTests {
    let factory = SQLiteFactory()
    @Test("CSV with a composite id: stored once with its SHA-256; the same file again is skipped")
    func ingestCSV() async throws { try await RunStoreContract.ingestCSV(factory) }
    @Test("every character a source holds comes back exactly, also those the COPY text format escapes")
    func ingestKeepsEveryCharacter() async throws { try await RunStoreContract.ingestKeepsEveryCharacter(factory) }
    @Test("a different file under the same name is refused, or stored as the next version when asked; runs stay pinned")
    func versionedSources() async throws { try await RunStoreContract.versionedSources(factory) }
    @Test("JSONL; a duplicate id or a missing id column stores nothing and says where")
    func ingestErrors() async throws { try await RunStoreContract.ingestErrors(factory) }
    @Test("re-recording an item upserts: no new row, attempts counted, a success clears the error and keeps the first")
    func idempotentUpsert() async throws { try await RunStoreContract.idempotentUpsert(factory) }
    @Test("finalize with errored and missing items ends failed; markResumed sets it running again")
    func finalizeAndResume() async throws { try await RunStoreContract.finalizeAndResume(factory) }
    @Test("the items left come a page at a time after a position, in source order, for either selection")
    func remainingItemsPage() async throws { try await RunStoreContract.remainingItemsPage(factory) }
    @Test("results(ofRun:) reads every recorded result in source order with the run's counts, for export")
    func resultsReadBack() async throws { try await RunStoreContract.resultsReadBack(factory) }
    @Test("after each commit the run's counts equal its results recounted, and the items left start at the first without one")
    func countsFollowEachCommit() async throws { try await RunStoreContract.countsFollowEachCommit(factory) }
}

@Suite(
    "RunStore contract: PostgreSQL",
    .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"), .inATestSlot)
struct PostgresStoreContractTests {
    let factory = PostgresFactory()
    @Test("CSV with a composite id: stored once with its SHA-256; the same file again is skipped")
    func ingestCSV() async throws { try await RunStoreContract.ingestCSV(factory) }
    @Test("every character a source holds comes back exactly, also those the COPY text format escapes")
    func ingestKeepsEveryCharacter() async throws { try await RunStoreContract.ingestKeepsEveryCharacter(factory) }
    @Test("a different file under the same name is refused, or stored as the next version when asked; runs stay pinned")
    func versionedSources() async throws { try await RunStoreContract.versionedSources(factory) }
    @Test("JSONL; a duplicate id or a missing id column stores nothing and says where")
    func ingestErrors() async throws { try await RunStoreContract.ingestErrors(factory) }
    @Test("re-recording an item upserts: no new row, attempts counted, a success clears the error and keeps the first")
    func idempotentUpsert() async throws { try await RunStoreContract.idempotentUpsert(factory) }
    @Test("finalize with errored and missing items ends failed; markResumed sets it running again")
    func finalizeAndResume() async throws { try await RunStoreContract.finalizeAndResume(factory) }
    @Test("the items left come a page at a time after a position, in source order, for either selection")
    func remainingItemsPage() async throws { try await RunStoreContract.remainingItemsPage(factory) }
    @Test("results(ofRun:) reads every recorded result in source order with the run's counts, for export")
    func resultsReadBack() async throws { try await RunStoreContract.resultsReadBack(factory) }
    @Test("after each commit the run's counts equal its results recounted, and the items left start at the first without one")
    func countsFollowEachCommit() async throws { try await RunStoreContract.countsFollowEachCommit(factory) }
}
