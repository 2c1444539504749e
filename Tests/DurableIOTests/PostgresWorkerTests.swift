import DurableIO
import DurableRunStore
import Foundation
import PostgresNIO
import Testing

@testable import DurablePostgres

/// A schema of its own on the test server, a CSV of `count` items, and an admin store to check the tables.
struct PostgresCLIFixture {
    let directory = TemporaryDirectory()
    let store: PostgresRunStore
    var dir: String { directory.path.string }
    var csv: String { "\(dir)/items.csv" }
    /// The store URL for the CLI, with the password in it (which must never be printed).
    var url: String { PostgresTestServer.url(schema: store.schema) }
    var password: String { PostgresTestServer.location.password ?? "\u{0}no password\u{0}" }

    init(count: Int) async throws {
        store = try await PostgresTestServer.makeStore()
        writeRaw("id,text\n" + (1...count).map { "\($0),item \($0)" }.joined(separator: "\n") + "\n", to: directory.file("items.csv"))
    }

    func int(_ query: PostgresQuery) async throws -> Int { try await PostgresTestServer.int(store, query) }

    /// Neither stream of `cli` shows the password.
    func expectNoPassword(_ cli: ResumeCLI, _ comment: Comment? = nil) {
        #expect(!cli.stdout.contains(password) && !cli.stderr.contains(password), comment)
    }

    func dispose() async { await PostgresTestServer.drop(store) }
}

/// The multi-worker acceptance tests: real `durable-resume` processes on one run, with short leases.
@Suite(
    "durable-resume on PostgreSQL (built binary, many workers)", .serialized,
    .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"), .inATestSlot)
struct PostgresWorkerTests {
    func workerArguments(_ f: PostgresCLIFixture, jobs: Int = 2, lease: Double = 2) -> [String] {
        ["--store", f.url, "--jobs", "\(jobs)", "--lease", "\(lease)", "--quiet"]
    }

    @Test("4 worker processes on one run of 2,000 items: every item recorded exactly once, no refused result written")
    func fourWorkers() async throws {
        let f = try await PostgresCLIFixture(count: 2000)
        defer { Task { await f.dispose() } }
        let starter = try ResumeCLI(
            ["start", "--source", f.csv, "--id", "id", "--command", "cat", "--batch-size", "25", "--batch-seconds", "1"]
                + workerArguments(f), in: f.dir)
        let id = try #require(await starter.runID())
        var workers = [starter]
        for _ in 0..<3 { workers.append(try ResumeCLI(["work", "--run-id", id] + workerArguments(f), in: f.dir)) }
        for worker in workers {
            #expect(await worker.wait() == 0, "\(worker.stderr)")
            f.expectNoPassword(worker)
        }
        #expect(try await f.int("SELECT count(*) FROM results WHERE run_id = \(id)") == 2000)
        #expect(try await f.int("SELECT count(DISTINCT item_id) FROM results WHERE run_id = \(id)") == 2000)
        #expect(try await f.int("SELECT sum(attempt_count)::BIGINT FROM results") == 2000, "recorded once each: no refused result was written")
        #expect(try await f.int("SELECT count(*) FROM run_items WHERE NOT done") == 0)
        let rows = try await f.store.workers(runID: id)
        #expect(rows.count == 4)
        #expect(rows.map(\.recorded).reduce(0, +) == 2000, "a worker's recorded count is what it wrote")
        #expect(rows.allSatisfy { $0.recorded > 0 }, "all four took part: \(rows.map(\.recorded))")
        #expect(rows.map(\.refused).reduce(0, +) == (try await f.store.refusedCount(runID: id)))
        #expect(try await f.int("SELECT count(*) FROM results WHERE recorded_by IS NULL") == 0)
        let run = try #require(try await f.store.run(id: id))
        #expect(run.status == .completed && run.completedCount == 2000)

        let status = try await ResumeCLI.run(["status", "--store", f.url, "--run-id", id], in: f.dir)
        #expect(status.status == 0)
        #expect(status.stdout.contains("— completed"))
        #expect(status.stdout.contains("workers: 0 live, 4 gone"), "\(status.stdout)")
        #expect(!status.stdout.contains(f.password))
    }

    @Test("kill -9 of 1 of 4 workers mid-run: its items are taken over after the lease expires; 2,000 results")
    func killOneOfFour() async throws {
        let f = try await PostgresCLIFixture(count: 2000)
        defer { Task { await f.dispose() } }
        let starter = try ResumeCLI(
            ["start", "--source", f.csv, "--id", "id", "--command", "sleep 0.01; cat", "--batch-size", "10", "--batch-seconds", "0.5"]
                + workerArguments(f), in: f.dir)
        let id = try #require(await starter.runID())
        var workers = [starter]
        for _ in 0..<3 { workers.append(try ResumeCLI(["work", "--run-id", id] + workerArguments(f), in: f.dir)) }
        let victim = workers[3]
        let pid = Int(victim.process.processIdentifier)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let mine = try await f.int("SELECT COALESCE(sum(recorded), 0)::BIGINT FROM workers WHERE pid = \(pid)")
            let all = try await f.int("SELECT count(*) FROM results")
            if mine >= 10, all >= 300 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        victim.signal(SIGKILL)
        #expect(await victim.wait() == SIGKILL)
        let atKill = try await f.int("SELECT count(*) FROM results")
        #expect(atKill < 2000, "killed mid-run (\(atKill) results)")
        for worker in workers.dropLast() {
            #expect(await worker.wait() == 0, "\(worker.stderr)")
            f.expectNoPassword(worker)
        }
        #expect(try await f.int("SELECT count(*) FROM results WHERE run_id = \(id)") == 2000)
        #expect(try await f.int("SELECT sum(attempt_count)::BIGINT FROM results") == 2000, "recorded once each")
        #expect(try await f.int("SELECT count(*) FROM run_items WHERE claims > 1") >= 1, "the dead worker's claims were taken over")
        let dead = try #require(try await f.store.workers(runID: id).first { $0.identity.pid == Int32(pid) })
        #expect(!dead.isLive && !dead.left, "expired, not left")
        let run = try #require(try await f.store.run(id: id))
        #expect(run.status == .completed)
        let status = try await ResumeCLI.run(["status", "--store", f.url, "--run-id", id], in: f.dir)
        #expect(status.stdout.contains("expired  \(dead.identity.id)"), "\(status.stdout)")
        #expect(!status.stdout.contains(f.password))
    }

    @Test("a worker cut off from the database stops claiming; its in-flight results are refused once its lease expired")
    func partitionedWorker() async throws {
        let f = try await PostgresCLIFixture(count: 300)
        defer { Task { await f.dispose() } }
        // Worker B logs in as a role of its own, so the test can cut B alone: NOLOGIN, then end its connections.
        let role = "cut_" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let rolePassword = "cut-pw-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let location = PostgresTestServer.location
        let s = f.store.schema
        for sql in [
            "CREATE ROLE \(role) LOGIN PASSWORD '\(rolePassword)'", "GRANT \(role) TO CURRENT_USER",
            "GRANT CONNECT, CREATE ON DATABASE \(location.database) TO \(role)",
            "GRANT USAGE, CREATE ON SCHEMA \(s) TO \(role)", "GRANT ALL ON ALL TABLES IN SCHEMA \(s) TO \(role)",
            "GRANT ALL ON ALL SEQUENCES IN SCHEMA \(s) TO \(role)",
        ] { try await f.store.rows("test", PostgresQuery(unsafeSQL: sql)) }
        defer {
            let store = f.store
            Task {
                for sql in ["ALTER ROLE \(role) LOGIN", "DROP OWNED BY \(role)", "DROP ROLE \(role)"] {
                    _ = try? await store.rows("test", PostgresQuery(unsafeSQL: sql))
                }
            }
        }
        let source = try await f.store.ingest(try SourceFile(path: f.csv, idColumns: ["id"]), allowNewVersion: false).source
        let run = try await f.store.createRun(
            id: "partition", name: nil, source: source,
            configuration: .init(command: "sleep 0.05; cat", batchSize: 2, batchSeconds: 0.2), startedAt: Date())
        var bURL = URLComponents(string: f.url)!
        bURL.user = role
        bURL.password = rolePassword
        let a = try ResumeCLI(["work", "--run-id", run.id] + workerArguments(f, jobs: 2, lease: 1.5), in: f.dir)
        let b = try ResumeCLI(["work", "--run-id", run.id, "--store", bURL.string!, "--jobs", "2", "--lease", "1.5", "--quiet"], in: f.dir)
        let deadline = Date().addingTimeInterval(60)
        while try await f.int("SELECT COALESCE(sum(recorded), 0)::BIGINT FROM workers WHERE host IS NOT NULL AND pid = \(Int(b.process.processIdentifier))") < 4,
            Date() < deadline
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        // Cut B: no new logins, and its connections ended.
        try await f.store.rows("test", PostgresQuery(unsafeSQL: "ALTER ROLE \(role) NOLOGIN"))
        try await f.store.rows("test", PostgresQuery(unsafeSQL: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '\(role)'"))
        let bPid = Int(b.process.processIdentifier)
        let claimedAtCut = try await f.int("SELECT claimed FROM workers WHERE pid = \(bPid)")
        try await Task.sleep(for: .seconds(4))  // > 2 leases: B's claims expire and A takes them
        #expect(try await f.int("SELECT claimed FROM workers WHERE pid = \(bPid)") == claimedAtCut, "B claimed nothing while cut off")
        try await f.store.rows("test", PostgresQuery(unsafeSQL: "ALTER ROLE \(role) LOGIN"))

        #expect(await a.wait() == 0, "\(a.stderr)")
        #expect(await b.wait() == 0, "\(b.stderr)")
        #expect(b.stderr.contains("cannot renew leases"), "\(b.stderr)")
        #expect(b.stderr.contains("results refused: their leases had expired"), "\(b.stderr)")
        #expect(!b.stderr.contains(rolePassword) && !b.stdout.contains(rolePassword))
        f.expectNoPassword(a)
        let bRow = try #require(try await f.store.workers(runID: run.id).first { $0.identity.pid == Int32(bPid) })
        #expect(bRow.refused >= 1, "B's in-flight results were refused")
        #expect(try await f.int("SELECT count(*) FROM results") == 300)
        #expect(try await f.int("SELECT sum(attempt_count)::BIGINT FROM results") == 300, "each recorded once: the refused results were not written")
        #expect(try #require(try await f.store.run(id: run.id)).status == .completed)
    }

    @Test("resume on PostgreSQL: a failed run retries its errors only (exit 0), then exits 5; a changed source exits 3")
    func resumeChecks() async throws {
        let store = try await PostgresTestServer.makeStore()
        defer { Task { await PostgresTestServer.drop(store) } }
        let f = ResumeFixture(count: 12, failEvery: 4)
        let url = PostgresTestServer.url(schema: store.schema)
        let first = try await ResumeCLI.run(
            ["start", "--store", url, "--source", f.csv, "--id", "id", "--command", f.command(failing: true), "--jobs", "2", "--quiet"], in: f.dir)
        #expect(first.status == 1, "\(first.stderr)")
        let id = String(try #require(first.stdout.split(separator: "\n").first).dropFirst(4))
        #expect(first.stderr.contains("resume with: durable-resume resume --store 'postgres://"), "the URL is shell-quoted (it holds a ?): \(first.stderr)")
        #expect(f.calls.count == 12)
        f.touch("fixed")
        let retry = try await ResumeCLI.run(["resume", "--store", url, "--run-id", id, "--retry-errors-only", "--quiet"], in: f.dir)
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.stdout.hasPrefix("run \(id)\n"))
        #expect(retry.stderr.contains("3 errored items reopened for retry"), "\(retry.stderr)")
        #expect(f.calls.count == 15, "only the 3 errored items ran again")
        #expect(try await PostgresTestServer.int(store, "SELECT sum(attempt_count)::BIGINT FROM results") == 15)
        let again = try await ResumeCLI.run(["resume", "--store", url, "--run-id", id], in: f.dir)
        #expect(again.status == 5, "\(again.stderr)")
        writeRaw("id,kind,text,fail\n1,A,changed,no\n", to: f.directory.file("other.csv"))
        let run2 = try await ResumeCLI.run(
            ["start", "--store", url, "--source", f.csv, "--id", "id", "--command", "exit 1", "--quiet"], in: f.dir)
        let id2 = String(try #require(run2.stdout.split(separator: "\n").first).dropFirst(4))
        let mismatch = try await ResumeCLI.run(["resume", "--store", url, "--run-id", id2, "--source", "\(f.dir)/other.csv"], in: f.dir)
        #expect(mismatch.status == 3, "\(mismatch.stderr)")
        #expect(mismatch.stderr.contains("sha256"))
        for output in [first.stdout, first.stderr, retry.stderr, again.stderr, mismatch.stderr] {
            #expect(!output.contains(PostgresTestServer.location.password ?? "\u{0}"))
        }
    }

    @Test("credentials never appear: a refused login, an unreachable server, status and hints show the URL redacted")
    func credentialsNeverPrinted() async throws {
        let f = try await PostgresCLIFixture(count: 5)
        defer { Task { await f.dispose() } }
        var wrong = URLComponents(string: f.url)!
        wrong.password = "not-the-password-42"
        let login = try await ResumeCLI.run(["list", "--store", wrong.string!], in: f.dir)
        #expect(login.status == 1)
        #expect(login.stderr.contains("refused the login") && login.stderr.contains(":***@"), "\(login.stderr)")
        #expect(!login.stderr.contains("not-the-password-42"))
        var closed = URLComponents(string: f.url)!
        closed.port = 1
        let unreachable = try await ResumeCLI.run(["status", "--store", closed.string!], in: f.dir)
        #expect(unreachable.status == 1)
        #expect(!unreachable.stderr.contains(f.password) && unreachable.stderr.contains("cannot connect"), "\(unreachable.stderr)")

        // Through DURABLE_STORE, and a stopped worker's hint.
        let start = try ResumeCLI(
            ["start", "--source", f.csv, "--id", "id", "--command", "sleep 5; cat", "--lease", "2", "--quiet"], in: f.dir,
            environment: ["DURABLE_STORE": f.url])
        let id = try #require(await start.runID())
        try await Task.sleep(for: .milliseconds(500))
        let live = try await ResumeCLI.run(["status", "--run-id", id, "--json"], in: f.dir, environment: ["DURABLE_STORE": f.url])
        #expect(live.stdout.contains(#""state":"running""#) && live.stdout.contains(#""workers":["#), "\(live.stdout)")
        #expect(!live.stdout.contains(f.password))
        start.signal(SIGINT)
        #expect(await start.wait() == 130)
        #expect(start.stderr.contains("rejoin with: durable-resume work --store 'postgres://"), "the URL is shell-quoted (it holds a ?): \(start.stderr)")
        f.expectNoPassword(start)
        let work = try await ResumeCLI.run(["work", "--db", "x.sqlite", "--run-id", id], in: f.dir)
        #expect(work.status == 64 && work.stderr.contains("needs a PostgreSQL store"))
    }
}
