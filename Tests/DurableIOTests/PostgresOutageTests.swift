import DurableIO
import DurableRunStore
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing
import _ConnectionPoolModule

@testable import DurablePostgres

/// A TCP forwarder in front of the test server (Python's asyncio, a child process): killing it is a server that
/// went down — open connections drop, new ones are refused — and starting it again on the same port brings the
/// server back.
final class ServerOutage: @unchecked Sendable {
    private static let script = """
        import asyncio, sys
        host, port, listen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        async def pipe(r, w):
            try:
                while True:
                    data = await r.read(65536)
                    if not data: break
                    w.write(data); await w.drain()
            except Exception: pass
            finally: w.close()
        async def handle(cr, cw):
            try: sr, sw = await asyncio.open_connection(host, port)
            except Exception: cw.close(); return
            await asyncio.gather(pipe(cr, sw), pipe(sr, cw))
        async def main():
            server = await asyncio.start_server(handle, '127.0.0.1', listen, reuse_address=True)
            print(server.sockets[0].getsockname()[1], flush=True)
            await server.serve_forever()
        asyncio.run(main())
        """
    private var proxy: ChildProcess?
    private(set) var port = 0

    init() throws { try up() }

    /// Starts forwarding (on the same port as before, after the first time).
    func up() throws {
        let target = PostgresTestServer.location
        let child = try ChildProcess(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", Self.script, target.host, "\(target.port)", "\(port)"])
        guard child.waitFor("\n", timeout: 30), let listening = Int(child.text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw DurablePostgresError(.unreachable, operation: "test", message: "the forwarder did not start: \(child.text)")
        }
        port = listening
        proxy = child
    }

    /// The server goes down: the forwarder is killed, its connections drop, the port refuses.
    func down() {
        guard let proxy else { return }
        kill(proxy.process.processIdentifier, SIGKILL)
        proxy.wait()
        self.proxy = nil
    }

    /// The test server's location, through the forwarder.
    var location: PostgresLocation {
        var location = PostgresTestServer.location
        location.host = "127.0.0.1"
        location.port = port
        return location
    }

    deinit { down() }
}

/// PostgreSQL failures as operators meet them: a server that goes down mid-run, URLs mistyped, two workers
/// ingesting the same file at once, and commits acknowledged before the server's WAL flush.
@Suite("DurablePostgres: outages, URLs, concurrent ingest, synchronous commits", .serialized, .inATestSlot)
struct PostgresOutageTests {
    @Test("the pool's tripped circuit breaker is an unreachable-store error naming the store, not ConnectionPoolError(...)")
    func circuitBreakerIsNamed() throws {
        let error = DurablePostgresError.wrap(
            ConnectionPoolError.connectionCreationCircuitBreakerTripped, operation: "claim", store: "postgres://u:***@db:5432/runs")
        let named = try #require(error as? DurablePostgresError, "\(error)")
        #expect(named.code == .unreachable)
        #expect(named.description == "claim failed: postgres://u:***@db:5432/runs: no connection could be made for over a minute")
        #expect(named.hint?.contains("retries for 2 minutes") == true)
    }

    @Test("a bad port or a malformed URL says what is wrong (never 'does not start with postgres://') and is a usage error (64)")
    func urlErrors() async throws {
        for (url, expected) in [
            ("postgres://u:hunter2@db:99999/runs", "the port 99999 is not a number from 1 to 65535"),
            ("postgres://u:hunter2@db:54x2/runs", "the port '54x2' is not a number from 1 to 65535"),
            ("postgres://u:hunter2@db:/runs", "the port '' is not a number from 1 to 65535"),
            ("postgres://u:hun ter2@db/runs", "it is not a well-formed URL"),
            ("mysql://u:hunter2@db/runs", "it does not start with postgres:// or postgresql://"),
        ] {
            let error = #expect(throws: DurablePostgresError.self) { try PostgresLocation(url) }
            #expect(error?.message.contains(expected) == true, "\(url): \(error?.message ?? "no error")")
            #expect(error?.message.contains("hunter2") == false)
        }
        let dir = TemporaryDirectory()
        for url in ["postgres://u:hunter2@db:54x2/runs", "postgres://u:hunter2@db:99999/runs"] {
            for arguments in [["list", "--store", url], ["status", "--store", url], ["work", "--store", url, "--run-id", "x"]] {
                let cli = try await ResumeCLI.run(arguments, in: dir.path.string)
                #expect(cli.status == 64, "\(arguments): \(cli.stderr)")
                #expect(cli.stderr.contains("is not a number from 1 to 65535") && !cli.stderr.contains("hunter2"), "\(cli.stderr)")
            }
        }
        let environment = try await ResumeCLI.run(["list"], in: dir.path.string, environment: ["DURABLE_STORE": "postgres://u:hunter2@db:0x1/runs"])
        #expect(environment.status == 64 && !environment.stderr.contains("hunter2"), "\(environment.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("postgres:").string), "nothing created")
    }

    @Test(
        "two workers ingesting the same file at once store it once and both use that version (5 rounds)",
        .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"))
    func concurrentIngest() async throws {
        let dir = TemporaryDirectory()
        writeRaw("id,text\n" + (1...3000).map { "\($0),item \($0)" }.joined(separator: "\n") + "\n", to: dir.file("s.csv"))
        let source = try SourceFile(path: dir.file("s.csv").string, idColumns: ["id"])
        for _ in 1...5 {
            let first = try await PostgresTestServer.makeStore()
            let second = try await PostgresRunStore.connect(to: PostgresTestServer.location, schema: first.schema)
            async let a = first.ingest(source, allowNewVersion: false)
            async let b = second.ingest(source, allowNewVersion: false)
            let (x, y) = try await (a, b)
            #expect(x.source.id == y.source.id && x.source.version == 1)
            #expect([x.skipped, y.skipped].sorted { !$0 && $1 } == [false, true], "one stored it, the other found it")
            #expect(try await PostgresTestServer.int(first, "SELECT count(*) FROM sources") == 1)
            #expect(try await PostgresTestServer.int(first, "SELECT count(*) FROM source_items") == 3000)
            await second.close()
            await PostgresTestServer.drop(first)
        }
    }

    @Test(
        "two durable-resume starts at once on a fresh store with the same source both run (no duplicate-key error)",
        .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"))
    func concurrentStarts() async throws {
        let f = try await PostgresCLIFixture(count: 2000)
        defer { Task { await f.dispose() } }
        let arguments = ["start", "--store", f.url, "--source", f.csv, "--id", "id", "--command", "cat", "--quiet"]
        let one = try ResumeCLI(arguments, in: f.dir)
        let two = try ResumeCLI(arguments, in: f.dir)
        let (a, b) = (await one.wait(), await two.wait())
        #expect(a == 0 && b == 0, "\(one.stderr)\n\(two.stderr)")
        #expect(!(one.stderr + two.stderr).contains("duplicate key"))
        #expect(try await f.int("SELECT count(*) FROM sources") == 1)
        #expect(try await f.int("SELECT count(*) FROM runs WHERE status = 'completed'") == 2)
        f.expectNoPassword(one)
        f.expectNoPassword(two)
    }

    @Test(
        "a role whose default is synchronous_commit=off still commits with synchronous_commit=on (read back on the store's connection)",
        .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"))
    func synchronousCommit() async throws {
        let admin = try await PostgresTestServer.makeStore()
        defer { Task { await PostgresTestServer.drop(admin) } }
        let role = "r_" + admin.schema
        let password = "pw-\(UInt32.random(in: 0...UInt32.max))"
        let database = PostgresTestServer.location.database
        try await admin.rows("test", PostgresQuery(unsafeSQL: "CREATE ROLE \(role) LOGIN PASSWORD '\(password)'"))
        try await admin.rows("test", PostgresQuery(unsafeSQL: "ALTER ROLE \(role) SET synchronous_commit = off"))
        try await admin.rows("test", PostgresQuery(unsafeSQL: "GRANT \(role) TO CURRENT_USER"))  // to drop its schema after
        try await admin.rows("test", PostgresQuery(unsafeSQL: "GRANT CREATE, CONNECT ON DATABASE \(database) TO \(role)"))
        defer {
            Task {
                _ = try? await admin.rows("test", PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(role) CASCADE"))
                _ = try? await admin.rows("test", PostgresQuery(unsafeSQL: "REVOKE ALL ON DATABASE \(database) FROM \(role)"))
                _ = try? await admin.rows("test", PostgresQuery(unsafeSQL: "DROP ROLE IF EXISTS \(role)"))
            }
        }
        var location = PostgresTestServer.location
        location.user = role
        location.password = password
        let store = try await PostgresRunStore.connect(to: location, schema: role)
        for _ in 0..<4 {  // every connection of the pool, not only the first
            async let a = store.rows("test", "SHOW synchronous_commit")
            async let b = store.rows("test", "SHOW synchronous_commit")
            let settings = try await (a + b).map { try $0.decode(String.self) }
            #expect(settings == ["on", "on"])
        }
        await store.close()
    }

    @Test(
        "a server down mid-run: the worker says the server refused connections, retries for its tolerance, stops naming the store and how to rejoin; a worker after the outage finishes every item exactly once",
        .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"))
    func serverDown() async throws {
        let outage = try ServerOutage()
        let admin = try await PostgresTestServer.makeStore()
        defer { Task { await PostgresTestServer.drop(admin) } }
        let dir = TemporaryDirectory()
        writeRaw("id\n" + (1...300).map(String.init).joined(separator: "\n") + "\n", to: dir.file("n.csv"))
        let store = try await PostgresRunStore.connect(to: outage.location, schema: admin.schema, operationTimeout: .seconds(3))
        let source = try await store.ingest(try SourceFile(path: dir.file("n.csv").string, idColumns: ["id"]), allowNewVersion: false).source
        let run = try await store.createRun(id: "r", name: nil, source: source, configuration: .init(command: "cat", batchSize: 10), startedAt: Date())
        let processed = Mutex(0)
        let notices = Mutex<[String]>([])
        let options = LeasedWorker.Options(
            jobs: 2, lease: .seconds(5), notice: { text in notices.withLock { $0.append(text) } }, outageTolerance: .seconds(6))
        let worker = Task {
            try await LeasedWorker(store: store, options: options).work(runID: run.id) { item in
                if processed.withLock({ $0 += 1; return $0 }) == 60 { outage.down() }
                try await Task.sleep(for: .milliseconds(10))
                return Array(#"{"ok":true}"#.utf8)
            }
        }
        let started = ContinuousClock.now
        let failure = await #expect(throws: DurableRunStoreError.self) { try await worker.value }
        let waited = ContinuousClock.now - started
        #expect(failure?.code == .storeUnavailable)
        let text = failure.map(\.detailedDescription) ?? ""
        #expect(text.contains("the store has not answered for") && text.contains("so this worker stopped"), "\(text)")
        #expect(text.contains("refused the connection") && text.contains(outage.location.redacted), "\(text)")
        #expect(!text.contains("did not answer within"), "a refused connection is not a timeout: \(text)")
        #expect(text.contains("rejoin with: durable-resume work --store URL --run-id r"), "\(text)")
        #expect(!text.contains(PostgresTestServer.location.password ?? "\u{0}"))
        #expect(waited < .seconds(60), "the tolerance (6 s, plus the calls in flight), not the pool's own minutes: \(waited)")
        #expect(notices.withLock { $0 }.contains { $0.contains("retrying for up to") }, "\(notices.withLock { $0 })")
        await store.close()

        try outage.up()
        let again = try await PostgresRunStore.connect(to: outage.location, schema: admin.schema)
        _ = try await again.markResumed(runID: run.id)
        let after = WorkerIdentity(id: "after-the-outage", host: "test", pid: 2)
        let outcome = try await LeasedWorker(store: again, identity: after, options: .init(jobs: 2, lease: .seconds(5))).work(runID: run.id) { _ in
            Array(#"{"ok":true}"#.utf8)
        }
        #expect(outcome.run.status == .completed)
        #expect(try await PostgresTestServer.int(admin, "SELECT count(*) FROM results WHERE run_id = 'r'") == 300)
        #expect(try await PostgresTestServer.int(admin, "SELECT count(DISTINCT item_id) FROM results WHERE run_id = 'r'") == 300)
        await again.close()
    }

    @Test("the store URL's timeout sets how long a call may wait for the server; a bad one says what it must be, without the password")
    func timeoutParameter() throws {
        #expect(try PostgresLocation("postgres://u@h/db").timeout == .seconds(15))
        let patient = try PostgresLocation("postgres://u:hunter2@h/db?schema=team_a&timeout=120")
        #expect(patient.timeout == .seconds(120) && patient.schema == "team_a")
        #expect(patient.redacted == "postgres://u:***@h:5432/db?schema=team_a&timeout=120")
        #expect(try PostgresLocation("postgres://u@h/db?timeout=2.5").timeout == .milliseconds(2500))
        for value in ["0", "0.0001", "-3", "abc", "", "nan", "100000"] {
            let error = #expect(throws: DurablePostgresError.self) { try PostgresLocation("postgres://u:hunter2@h/db?timeout=\(value)") }
            #expect(error?.code == .invalidLocation, "timeout=\(value)")
            #expect(error?.message.contains("timeout must be a number of seconds") == true, "\(String(describing: error))")
            #expect(error?.message.contains("hunter2") == false)
        }
    }

    @Test(
        "an ingest the server stalls past the URL's timeout says how much it had sent, that nothing is stored, and how to allow it longer",
        .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"))
    func stalledIngestSaysHowFarItGot() async throws {
        let admin = try await PostgresTestServer.makeStore()
        defer { Task { await PostgresTestServer.drop(admin) } }
        let dir = TemporaryDirectory()
        writeRaw("id,text\n" + (1...500).map { "\($0),item \($0)" }.joined(separator: "\n") + "\n", to: dir.file("s.csv"))
        let source = try SourceFile(path: dir.file("s.csv").string, idColumns: ["id"])
        // Another session holds the lock an ingest of this source takes first: the server answers nothing meanwhile.
        let holder = try await PostgresRunStore.connect(to: PostgresTestServer.location, schema: admin.schema, maximumConnections: 1)
        try await holder.rows("hold", "SELECT pg_advisory_lock(hashtext(\("durable.ingest:" + source.name)))")
        let impatient = try await PostgresRunStore.connect(
            to: try PostgresLocation(PostgresTestServer.url(schema: admin.schema) + "&timeout=2"))
        #expect(impatient.operationTimeout == .seconds(2))
        let error = await #expect(throws: DurablePostgresError.self) {
            try await impatient.ingest(source, allowNewVersion: false)
        }
        #expect(error?.code == .unreachable)
        let message = error?.message ?? ""
        #expect(message.contains("ingest of \(source.path)") && message.contains("did not answer within 2 s"), "\(message)")
        #expect(message.contains("0 items (0 MB) had been sent"), "\(message)")
        #expect(message.contains("nothing of this source is stored"), "\(message)")
        #expect(error?.hint?.contains("?timeout=SECONDS in the store URL (now 2)") == true, "\(String(describing: error?.hint))")
        #expect(message.contains("pw") == false || !(PostgresTestServer.location.password.map { message.contains($0) } ?? false))
        // The lock let go, the abandoned ingest must not commit after all.
        try await holder.rows("release", "SELECT pg_advisory_unlock_all()")
        try await Task.sleep(for: .seconds(2))
        #expect(try await PostgresTestServer.int(admin, "SELECT count(*) FROM sources") == 0)
        #expect(try await PostgresTestServer.int(admin, "SELECT count(*) FROM source_items") == 0)
        await impatient.close()
        await holder.close()
    }

    private final class LockCount: Sendable { let value = Mutex(0) }

    /// A source of 2,500 items, a store that allows 3 s without an answer, and one session per given position holding
    /// that item's row locked (FOR UPDATE: the foreign-key check of a run item copied from it waits) for the given
    /// time after all of them hold their locks.
    private func createRunStalled(at holds: [(position: Int, seconds: Double)]) async throws
        -> (admin: PostgresRunStore, impatient: PostgresRunStore, source: SourceVersion, holders: [Task<Void, any Error>])
    {
        let admin = try await PostgresTestServer.makeStore()
        let dir = TemporaryDirectory()
        writeRaw("id\n" + (1...2_500).map(String.init).joined(separator: "\n") + "\n", to: dir.file("n.csv"))
        let source = try await admin.ingest(try SourceFile(path: dir.file("n.csv").string, idColumns: ["id"]), allowNewVersion: false).source
        let locked = LockCount()
        let count = holds.count
        let schema = admin.schema
        let holders = holds.map { hold in
            Task { [locked] in
                let holder = try await PostgresRunStore.connect(to: PostgresTestServer.location, schema: schema, maximumConnections: 1)
                try await holder.transaction("hold") { connection in
                    _ = try await PostgresRunStore.collect(try await connection.query(
                        "SELECT 1 FROM source_items WHERE source_id = \(source.id) AND position = \(hold.position) FOR UPDATE",
                        logger: Logger(label: "test")))
                    locked.value.withLock { $0 += 1 }
                    while locked.value.withLock({ $0 }) < count { try await Task.sleep(for: .milliseconds(10)) }
                    try await Task.sleep(for: .seconds(hold.seconds))
                }
                await holder.close()
            }
        }
        while locked.value.withLock({ $0 }) < count { try await Task.sleep(for: .milliseconds(10)) }
        let impatient = try await PostgresRunStore.connect(
            to: try PostgresLocation(PostgresTestServer.url(schema: admin.schema) + "&timeout=3"))
        return (admin, impatient, source, holders)
    }

    @Test(
        "creating a run copies its items in statements that each restart the time limit: a run the server makes slow progress on for longer than the limit is created whole",
        .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"))
    func createRunOutlastsTheLimitWhileItProgresses() async throws {
        // Statements of 1,000 items: the second waits 2 s for the row at position 1,500, the third 2 s more for the
        // row at 2,200. Each answers within the 3 s limit; all of it takes 4 s (one statement for all items, as
        // before, timed out after 3).
        let (admin, impatient, source, holders) = try await createRunStalled(at: [(1_500, 2), (2_200, 4)])
        defer { Task { await PostgresTestServer.drop(admin) } }
        let clock = ContinuousClock()
        let started = clock.now
        let run = try await impatient.createRun(
            id: "r", name: nil, source: source, configuration: .init(command: "cat"), startedAt: Date(), itemsPerStatement: 1_000)
        #expect(clock.now - started > .seconds(3), "the holders did not stall the copy past the limit; the test shows nothing")
        #expect(run.totalItems == 2_500)
        #expect(try await PostgresTestServer.int(admin, "SELECT count(*) FROM run_items WHERE run_id = 'r'") == 2_500)
        #expect(try await PostgresTestServer.int(admin, "SELECT count(DISTINCT position) FROM run_items WHERE run_id = 'r' AND position BETWEEN 0 AND 2499") == 2_500)
        for holder in holders { try await holder.value }
        await impatient.close()
    }

    @Test(
        "creating a run the server stalls past the limit between two statements times out and leaves no run behind",
        .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"))
    func createRunStalledPastTheLimit() async throws {
        let (admin, impatient, source, holders) = try await createRunStalled(at: [(2_200, 5)])
        defer { Task { await PostgresTestServer.drop(admin) } }
        let error = await #expect(throws: DurablePostgresError.self) {
            try await impatient.createRun(
                id: "r", name: nil, source: source, configuration: .init(command: "cat"), startedAt: Date(), itemsPerStatement: 1_000)
        }
        #expect(error?.code == .unreachable)
        let shown = error.map { "\($0)" } ?? ""
        #expect(shown.contains("create run") && shown.contains("did not answer within 3 s"), "\(shown)")
        for holder in holders { try await holder.value }
        try await Task.sleep(for: .seconds(1))
        #expect(try await PostgresTestServer.int(admin, "SELECT count(*) FROM runs") == 0)
        #expect(try await PostgresTestServer.int(admin, "SELECT count(*) FROM run_items") == 0)
        await impatient.close()
    }
}
