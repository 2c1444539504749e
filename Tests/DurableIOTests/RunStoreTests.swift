import DurableIO
import DurableRunStore
import DurableSQLite
import Foundation
import GRDB
import Synchronization
import Testing

@Suite("RunStore: schema and migrations", .inATestSlot)
struct RunStoreMigrationTests {
    @Test("an empty file migrates to the latest version: WAL, synchronous=FULL, one result per (run, item)")
    func fromEmpty() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("runs.sqlite").string
        let pool = try RunDatabase.open(at: path)
        try pool.read { (db: Database) throws -> Void in
            #expect(try RunSchema.appliedVersions(db) == RunSchema.versions)
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2, "2 is FULL")
            for table in ["sources", "source_items", "runs", "results"] { #expect(try db.tableExists(table), "\(table)") }
            let unique = try db.indexes(on: "results").filter { $0.isUnique }.map(\.columns)
            #expect(unique.contains(["run_id", "item_id"]))
            let columns = Set(try db.columns(in: "results").map(\.name))
            for column in ["error_occurred", "attempt_count", "first_error_message", "last_error_message", "last_attempt_at", "error_category"] {
                #expect(columns.contains(column), "\(column)")
            }
            let runColumns = Set(try db.columns(in: "runs").map(\.name))
            for column in ["status", "config", "source_checksum", "total_items", "completed_count", "failed_count", "last_progress_at", "estimated_completion_at", "started_at", "finished_at", "final_metrics"] {
                #expect(runColumns.contains(column), "\(column)")
            }
        }
        try pool.close()
        // Opening again changes nothing.
        let again = try RunDatabase.open(at: path)
        #expect(try again.read(RunSchema.appliedVersions) == RunSchema.versions)
        let normal = try RunDatabase.open(at: path, synchronous: .normal)
        #expect(try normal.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 1)
    }

    @Test("a v1 database migrates to v3: duplicates folded into the newest with attempts counted, counts backfilled, the frontier set")
    func fromPreviousVersion() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("runs.sqlite").string
        let v1 = try RunDatabase.openUnmigrated(at: path)
        try RunSchema.migrate(v1, upTo: "v1")
        try await v1.write { (db: Database) throws -> Void in
            #expect(try RunSchema.appliedVersions(db) == ["v1"])
            try db.execute(sql: """
                INSERT INTO sources (id, name, version, format, id_columns, data_checksum, item_count, ingested_at)
                VALUES (1, 'n.csv', 1, 'csv', '["id"]', 'abc', 3, '2026-01-01T00:00:00.000Z');
                INSERT INTO source_items (id, source_id, item_key, position, data) VALUES
                    (1, 1, '1', 0, '{"id":"1"}'), (2, 1, '2', 1, '{"id":"2"}'), (3, 1, '3', 2, '{"id":"3"}');
                INSERT INTO runs (id, name, source_id, status, config, source_checksum, total_items, started_at)
                VALUES ('r1', NULL, 1, 'running', '{"batch_seconds":5,"batch_size":100,"command":"cat"}', 'abc', 3,
                        '2026-01-01T00:00:01.000Z');
                INSERT INTO results (run_id, item_id, output, error_occurred, error_message, created_at) VALUES
                    ('r1', 1, NULL, 1, 'timeout', '2026-01-01T00:00:02.000Z'),
                    ('r1', 1, '{"ok":1}', 0, NULL, '2026-01-01T00:00:03.000Z'),
                    ('r1', 2, NULL, 1, 'exit 2', '2026-01-01T00:00:04.000Z');
                """)
        }
        try v1.close()

        let store = try SQLiteRunStore(path: path)
        try await store.pool.read { (db: Database) throws -> Void in
            #expect(try RunSchema.appliedVersions(db) == ["v1", "v2", "v3"])
            // v3: the frontier stops at the first item without a result (position 2: items 1 and 2 have results).
            #expect(try Int.fetchOne(db, sql: "SELECT results_complete_below FROM runs WHERE id = 'r1'") == 2)
            let rows = try Row.fetchAll(db, sql: "SELECT item_id, error_occurred, attempt_count, first_error_message, last_error_message FROM results ORDER BY item_id")
            #expect(rows.count == 2)
            #expect(rows[0][0] as Int == 1 && rows[0][1] as Int == 0 && rows[0][2] as Int == 2)
            #expect(rows[0][3] as String? == "timeout", "the first error is kept")
            #expect(rows[1][2] as Int == 1 && rows[1][4] as String? == "exit 2")
        }
        let run = try #require(try await store.run(id: "r1"))
        #expect(run.completedCount == 1 && run.failedCount == 1 && run.missingCount == 1)
        #expect(try await store.remainingItems(forRun: "r1", selection: .missingOnly).map(\.key) == ["3"])
        #expect(try await store.remainingItems(forRun: "r1", selection: .retryErrorsOnly).map(\.key) == ["2"])
        // A commit moves the frontier past the items that now have results: here, past the last.
        _ = try await store.commit([ItemResult(itemID: 3, output: "{}")], forRun: "r1", progress: .init(etaSeconds: nil))
        let frontier = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT results_complete_below FROM runs WHERE id = 'r1'") }
        #expect(frontier == 3)
    }

    @Test("a database with a schema version this program does not know is refused")
    func newerSchemaRefused() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("runs.sqlite").string
        let pool = try RunDatabase.open(at: path)
        try pool.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9')") }
        try pool.close()
        let error = #expect(throws: DurableSQLiteError.self) { try RunDatabase.open(at: path) }
        #expect(error?.code == .schema)
        #expect(error?.message.contains("v9") == true)
    }
}

@Suite("RunStore (SQLite): checksums, the runner's guards and the run lock", .inATestSlot)
struct RunStoreTests {
    func fixture(_ text: String, name: String = "n.csv") -> (TemporaryDirectory, String) {
        let dir = TemporaryDirectory()
        writeRaw(text, to: dir.file(name))
        return (dir, dir.file(name).string)
    }

    @Test("SHA-256 of a known input")
    func checksum() throws {
        let (dir, path) = fixture("abc", name: "abc.txt")
        defer { _ = dir }
        #expect(try SourceChecksum.sha256(ofFileAt: path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("finalize with an errored item ends failed; the runner refuses a completed run and a held lock, in that order")
    func runnerGuards() async throws {
        let (dir, csv) = fixture("id\n1\n2\n3\n")
        let store = try SQLiteRunStore(path: dir.file("runs.sqlite").string)
        let runner = ResumableRunner(store: store)
        let source = try await store.ingest(try SourceFile(path: csv, idColumns: ["id"]), allowNewVersion: false).source
        let outcome = try await runner.start(source: source, name: "t", configuration: .init(command: "x")) { item in
            if item.key == "2" { throw ItemFailure(message: "no", category: "command") }
            return item.key == "3" ? Array("not json".utf8) : Array(item.json.utf8)
        }
        #expect(outcome.run.status == .failed)
        #expect(outcome.run.failedCount == 2 && outcome.run.completedCount == 1)
        #expect(runner.state(of: outcome.run) == .failed)
        try await store.pool.read { (db: Database) throws -> Void in
            #expect(try String.fetchOne(db, sql: "SELECT error_category FROM results r JOIN source_items i ON i.id = r.item_id WHERE i.item_key = '3'") == "invalid-output")
        }

        // Someone else holds the run's lock: resume is refused naming the holder, and nothing runs.
        let other = FileLock(at: .init(store.lockPath(forRun: outcome.run.id)))
        #expect(try other.tryAcquire())
        #expect(runner.state(of: try #require(try await store.run(id: outcome.run.id))) == .failed)
        let held = await #expect(throws: DurableIOError.self) {
            try await runner.resume(runID: outcome.run.id, makeProcess: { _ in { _ in Issue.record("ran"); return [] } })
        }
        #expect(held?.code == .lockHeld)
        #expect(held?.message.contains("pid \(getpid())") == true)
        try other.release()

        let retried = try await runner.resume(
            runID: outcome.run.id, request: .init(selection: .retryErrorsOnly, given: .init(command: "y", batchSize: 100)),
            options: .init(notice: { print($0) }), makeProcess: { configuration in
                #expect(configuration.command == "x", "the stored configuration is authoritative")
                return { item in Array(item.json.utf8) }
            })
        #expect(retried.run.status == .completed && retried.processed == 2 && retried.skipped == 1)
        #expect(RunConfiguration(command: "x").drift(from: .init(command: "y", batchSize: 100)) == ["--command: stored 'x', given 'y' (ignored)"])

        // Completed is checked before the lock: even with the lock held, the answer is "completed".
        #expect(try other.tryAcquire())
        let done = await #expect(throws: DurableRunStoreError.self) {
            try await runner.resume(runID: outcome.run.id, makeProcess: { _ in { _ in [] } })
        }
        #expect(done?.code == .alreadyCompleted)
        try other.release()
    }

    @Test("a run of more items than a page: stopped part-way, then resumed, every item is processed exactly once, in order, each page read after the last position")
    func runsAcrossPages() async throws {
        let count = 2 * 1_000 + 345
        let (dir, csv) = fixture("id\n" + (0..<count).map { "\($0)\n" }.joined())
        let store = try SQLiteRunStore(path: dir.file("runs.sqlite").string)
        let runner = ResumableRunner(store: store)
        let source = try await store.ingest(try SourceFile(path: csv, idColumns: ["id"]), allowNewVersion: false).source
        let seen = Mutex<[Int]>([])
        let stop = StopRequest()
        let first = try await runner.start(
            source: source, name: "pages", configuration: .init(command: "x", batchSize: 50), options: .init(jobs: 3, stop: stop)
        ) { item in
            let n = seen.withLock { $0.append(Int(item.key)!); return $0.count }
            if n == 1_234 { stop.request(.signal(SIGTERM)) }
            return Array("{}".utf8)
        }
        #expect(first.stoppedBy != nil && first.run.status == .running, "\(first)")
        let firstSession = seen.withLock { $0 }
        #expect(firstSession.count >= 1_234 && firstSession.count < count)
        // Three at once finish in any order, but what the first session started is the first items in source order.
        #expect(firstSession.sorted() == Array(0..<firstSession.count), "started in source order")
        let notices = Mutex<[String]>([])
        let second = try await runner.resume(
            runID: first.run.id, options: .init(jobs: 3, notice: { m in notices.withLock { $0.append(m) } }),
            makeProcess: { _ in { item in seen.withLock { $0.append(Int(item.key)!) }; return Array("{}".utf8) } })
        #expect(second.run.status == .completed && second.run.completedCount == count)
        let all = seen.withLock { $0 }
        #expect(all.sorted() == Array(0..<count), "every item once: \(all.count) processed")
        #expect(second.skipped == firstSession.count && second.processed == count - firstSession.count)
        #expect(notices.withLock { $0 }.contains("\(firstSession.count) of \(count) items already done; \(count - firstSession.count) to process"))
    }
}
