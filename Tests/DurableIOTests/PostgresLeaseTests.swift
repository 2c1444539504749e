import DurableIO
import DurableRunStore
import Foundation
import PostgresNIO
import Synchronization
import Testing

@testable import DurablePostgres

/// Claims, leases and fencing on a real PostgreSQL server, one store call at a time, with short leases.
@Suite(
    "PostgresRunStore: claims, leases, refusals",
    .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"), .inATestSlot)
struct PostgresLeaseTests {
    let a = WorkerIdentity(id: "host-a:1:a", host: "host-a", pid: 1)
    let b = WorkerIdentity(id: "host-b:2:b", host: "host-b", pid: 2)

    /// A store in a fresh schema with one run over `count` items.
    func withRun(count: Int, _ body: (PostgresRunStore, RunRecord) async throws -> Void) async throws {
        let dir = TemporaryDirectory()
        writeRaw("id\n" + (1...count).map(String.init).joined(separator: "\n") + "\n", to: dir.file("n.csv"))
        let store = try await PostgresTestServer.makeStore()
        do {
            let source = try await store.ingest(try SourceFile(path: dir.file("n.csv").string, idColumns: ["id"]), allowNewVersion: false).source
            let run = try await store.createRun(id: "r", name: nil, source: source, configuration: .init(command: "cat"), startedAt: Date())
            try await body(store, run)
        } catch {
            await PostgresTestServer.drop(store)
            throw error
        }
        await PostgresTestServer.drop(store)
    }

    @Test("the schema migrates once, records v1, and a schema with an unknown version is refused")
    func migrations() async throws {
        let store = try await PostgresTestServer.makeStore()
        defer { Task { await PostgresTestServer.drop(store) } }
        #expect(try await store.appliedVersions() == PostgresSchema.versions)
        let again = try await PostgresRunStore.connect(to: PostgresTestServer.location, schema: store.schema)
        #expect(try await again.appliedVersions() == ["v1"])
        try await again.rows("test", "INSERT INTO schema_versions (version) VALUES ('v9')")
        await again.close()
        let error = await #expect(throws: DurablePostgresError.self) {
            try await PostgresRunStore.connect(to: PostgresTestServer.location, schema: store.schema)
        }
        #expect(error?.code == .schema)
        #expect(error?.message.contains("v9") == true)
    }

    @Test("two workers claiming at once get disjoint items, in source order, at most the limit each")
    func disjointClaims() async throws {
        try await withRun(count: 40) { store, run in
            async let first = store.claim(runID: run.id, worker: a, limit: 15, lease: .seconds(30))
            async let second = store.claim(runID: run.id, worker: b, limit: 15, lease: .seconds(30))
            let (x, y) = try await (first, second)
            #expect(x.count == 15 && y.count == 15)
            #expect(Set(x.map(\.item.id)).isDisjoint(with: y.map(\.item.id)))
            #expect(x.map(\.item.position) == x.map(\.item.position).sorted())
            let rest = try await store.claim(runID: run.id, worker: a, limit: 100, lease: .seconds(30))
            #expect(rest.count == 10, "the remaining 10, nothing leased twice")
            #expect(try await store.claim(runID: run.id, worker: b, limit: 100, lease: .seconds(30)).isEmpty)
            #expect(Set((x + y + rest).map(\.token)).count == 40, "a fresh token per claim")
            #expect(try await store.hasUnfinishedItems(runID: run.id))
        }
    }

    @Test("a result from a lease that expired and was taken is refused and counted; the taker's is recorded once")
    func expiredAndTakenIsRefused() async throws {
        try await withRun(count: 3) { store, run in
            let mine = try await store.claim(runID: run.id, worker: a, limit: 1, lease: .milliseconds(300))
            let item = try #require(mine.first)
            try await Task.sleep(for: .milliseconds(600))
            let theirs = try await store.claim(runID: run.id, worker: b, limit: 1, lease: .seconds(30))
            #expect(theirs.map(\.item.id) == [item.item.id], "the expired lease is taken over")
            #expect(theirs[0].token != item.token)
            #expect(try await store.renewLeases(runID: run.id, worker: a, lease: .seconds(30)) == 0, "an expired lease is not revived")

            let late = try await store.commit(
                [ItemResult(itemID: item.item.id, output: #""late""#)], leases: [item.item.id: item.token], forRun: run.id,
                worker: a, progress: .init(etaSeconds: nil))
            #expect(late.recorded.isEmpty && late.refused == [item.item.id])
            #expect(late.run.completedCount == 0)
            let onTime = try await store.commit(
                [ItemResult(itemID: item.item.id, output: #""b""#)], leases: [item.item.id: theirs[0].token], forRun: run.id,
                worker: b, progress: .init(etaSeconds: nil))
            #expect(onTime.recorded == [item.item.id] && onTime.refused.isEmpty)
            #expect(onTime.run.completedCount == 1)
            let row = try #require(try await store.rows("test", "SELECT output, attempt_count, recorded_by FROM results").first)
            let (output, attempts, by) = try row.decode((String, Int, String).self)
            #expect(output == #""b""# && attempts == 1 && by == b.id, "written once, by the lease holder")
            #expect(try await store.refusedCount(runID: run.id) == 1)
            let workers = try await store.workers(runID: run.id)
            #expect(workers.first { $0.identity == a }?.refused == 1)
            #expect(workers.first { $0.identity == b }?.recorded == 1)
            // The taker's token cannot be used twice either.
            let twice = try await store.commit(
                [ItemResult(itemID: item.item.id, output: #""again""#)], leases: [item.item.id: theirs[0].token], forRun: run.id,
                worker: b, progress: .init(etaSeconds: nil))
            #expect(twice.refused == [item.item.id])
        }
    }

    @Test("a result whose lease expired is refused even when nobody took the item; the item is claimable again")
    func expiredNotTakenIsRefused() async throws {
        try await withRun(count: 2) { store, run in
            let mine = try await store.claim(runID: run.id, worker: a, limit: 1, lease: .milliseconds(300))
            try await Task.sleep(for: .milliseconds(600))
            let late = try await store.commit(
                [ItemResult(itemID: mine[0].item.id, output: "1")], leases: [mine[0].item.id: mine[0].token], forRun: run.id,
                worker: a, progress: .init(etaSeconds: nil))
            #expect(late.refused == [mine[0].item.id])
            let again = try await store.claim(runID: run.id, worker: a, limit: 5, lease: .seconds(30))
            #expect(again.map(\.item.id).contains(mine[0].item.id))
        }
    }

    @Test("renewal keeps a lease past its first expiry; leave releases unfinished claims at once")
    func renewAndLeave() async throws {
        try await withRun(count: 4) { store, run in
            // No wall-clock sleeps: on a loaded machine a task resumes seconds late. The database says how long.
            let mine = try await store.claim(runID: run.id, worker: a, limit: 2, lease: .seconds(20))
            #expect(try await store.renewLeases(runID: run.id, worker: a, lease: .seconds(120)) == 2)
            #expect(try await PostgresTestServer.int(
                store, "SELECT count(*) FROM run_items WHERE lease_worker = \(a.id) AND lease_expires_at > now() + interval '100 seconds'") == 2,
                "renewed past the first expiry")
            let other = try await store.claim(runID: run.id, worker: b, limit: 10, lease: .seconds(30))
            #expect(Set(other.map(\.item.id)).isDisjoint(with: mine.map(\.item.id)), "renewed leases are still held")
            let done = try await store.commit(
                [ItemResult(itemID: mine[0].item.id, output: "1")], leases: [mine[0].item.id: mine[0].token], forRun: run.id,
                worker: a, progress: .init(etaSeconds: nil))
            #expect(done.recorded == [mine[0].item.id])
            #expect(try await store.currentState(of: done.run) == .live)
            try await store.leave(runID: run.id, worker: a)
            let released = try await store.claim(runID: run.id, worker: b, limit: 10, lease: .seconds(30))
            #expect(released.map(\.item.id) == [mine[1].item.id], "the unfinished claim is free at once")
            let workers = try await store.workers(runID: run.id)
            #expect(workers.map(\.isLive) == [true, false], "live first")
            #expect(workers.last?.left == true && workers.last?.identity == a)
            try await store.leave(runID: run.id, worker: b)
            #expect(try await store.currentState(of: try #require(try await store.run(id: run.id))) == .interrupted)
        }
    }

    @Test("leased commits keep the counts: an error, reopened by retry-errors, then a success; one item twice in a batch")
    func leasedCountsAndRetry() async throws {
        try await withRun(count: 3) { store, run in
            let claimed = try await store.claim(runID: run.id, worker: a, limit: 3, lease: .seconds(30))
            var tokens = Dictionary(uniqueKeysWithValues: claimed.map { ($0.item.id, $0.token) })
            let failure = ItemFailure(message: "exit status 2\u{0}", category: "command")
            var commit = try await store.commit(
                [ItemResult(itemID: claimed[0].item.id, error: failure), ItemResult(itemID: claimed[1].item.id, output: "1")],
                leases: tokens, forRun: run.id, worker: a, progress: .init(etaSeconds: nil))
            #expect(commit.run.failedCount == 1 && commit.run.completedCount == 1 && commit.recorded.count == 2)
            #expect(commit.run.estimatedCompletionAt != nil, "an ETA from the live workers' rate")
            #expect(try await store.reopenErrors(runID: run.id) == 1)
            let again = try await store.claim(runID: run.id, worker: a, limit: 3, lease: .seconds(30))
            #expect(Set(again.map(\.item.id)) == [claimed[0].item.id], "only the errored item; the third is still leased to a")
            tokens[claimed[0].item.id] = again[0].token
            commit = try await store.commit(
                [ItemResult(itemID: claimed[0].item.id, output: "ok"), ItemResult(itemID: claimed[0].item.id, output: "twice"),
                 ItemResult(itemID: claimed[2].item.id, output: "3")],
                leases: tokens, forRun: run.id, worker: a, progress: .init(etaSeconds: nil))
            #expect(commit.recorded.sorted() == [claimed[0].item.id, claimed[2].item.id].sorted())
            #expect(commit.refused == [claimed[0].item.id], "the second result for the item in one batch is refused")
            #expect(commit.run.failedCount == 0 && commit.run.completedCount == 3)
            let row = try #require(try await store.rows("test", "SELECT attempt_count, first_error_message, output FROM results WHERE item_id = \(claimed[0].item.id)").first)
            let (attempts, first, output) = try row.decode((Int, String?, String).self)
            #expect(attempts == 2 && first == "exit status 2\u{FFFD}" && output == "ok")
            #expect(!(try await store.hasUnfinishedItems(runID: run.id)))
        }
    }

    @Test("three in-process workers share a run: every item recorded once, the run finalized completed once")
    func workersShareARun() async throws {
        try await withRun(count: 90) { store, run in
            let calls = CallCounter()
            let outcomes = try await withThrowingTaskGroup(of: WorkerOutcome.self) { group in
                for n in 0..<3 {
                    group.addTask {
                        let worker = LeasedWorker(
                            store: store, identity: WorkerIdentity(id: "w\(n)", host: "h", pid: Int32(n)),
                            options: .init(jobs: 2, lease: .seconds(30), idlePause: .milliseconds(50)))
                        return try await worker.work(runID: run.id) { item in
                            calls.count(item.id)
                            try await Task.sleep(for: .milliseconds(5))
                            return Array(item.json.utf8)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.map(\.recorded).reduce(0, +) == 90)
            #expect(outcomes.map(\.refused).reduce(0, +) == 0)
            #expect(outcomes.filter(\.finalized).count >= 1)
            #expect(calls.distinct == 90)
            let final = try #require(try await store.run(id: run.id))
            #expect(final.status == .completed && final.completedCount == 90)
            #expect(try await PostgresTestServer.int(store, "SELECT count(*) FROM results") == 90)
            #expect(try await PostgresTestServer.int(store, "SELECT sum(attempt_count)::BIGINT FROM results") == 90)
            let done = await #expect(throws: DurableRunStoreError.self) {
                try await LeasedWorker(store: store).work(runID: run.id) { _ in [] }
            }
            #expect(done?.code == .alreadyCompleted)
        }
    }

    @Test("a store URL's password never appears in its redacted form, its errors or a quoted command line")
    func redaction() throws {
        let location = try PostgresLocation("postgres://worker:p%40ss-w0rd@db.internal:6432/runs?sslmode=disable&schema=team_a")
        #expect(location.password == "p@ss-w0rd" && location.port == 6432 && location.schema == "team_a")
        #expect(location.redacted == "postgres://worker:***@db.internal:6432/runs?schema=team_a")
        #expect("\(location)" == location.redacted)
        #expect(PostgresLocation.redact("resume --store postgres://u:hunter2@h/db --run-id x") == "resume --store postgres://u:***@h/db --run-id x")
        #expect(PostgresLocation.redact("postgres://u@h/db") == "postgres://u@h/db")
        let bad = #expect(throws: DurablePostgresError.self) { try PostgresLocation("postgres://u:hunter2@h/db?bogus=1") }
        #expect(bad?.message.contains("hunter2") == false)
        #expect(bad?.message.contains("postgres://u:***@h/db") == true)
        let noDB = #expect(throws: DurablePostgresError.self) { try PostgresLocation("postgres://u:hunter2@h") }
        #expect(noDB?.description.contains("hunter2") == false)
        #expect(try PostgresLocation("postgres://u@h/db", environment: ["PGPASSWORD": "pw"]).password == "pw")
    }

    @Test("a wrong password and a closed port fail at once, naming the store without its password")
    func connectErrors() async throws {
        var wrong = PostgresTestServer.location
        wrong.password = "definitely-not-it"
        let login = await #expect(throws: DurablePostgresError.self) { try await PostgresRunStore.connect(to: wrong) }
        #expect(login?.code == .authentication)
        #expect(login?.detailedDescription.contains("definitely-not-it") == false)
        #expect(login?.message.contains(wrong.redacted) == true)
        var closed = PostgresTestServer.location
        closed.port = 1
        let unreachable = await #expect(throws: DurablePostgresError.self) { try await PostgresRunStore.connect(to: closed) }
        #expect(unreachable?.code == .unreachable)
        #expect(unreachable?.detailedDescription.contains(closed.password ?? "\u{0}") == false)
    }
}

/// Counts calls per item across tasks.
final class CallCounter: Sendable {
    private let calls = Mutex<[Int64: Int]>([:])
    func count(_ id: Int64) { calls.withLock { $0[id, default: 0] += 1 } }
    var distinct: Int { calls.withLock { $0.count } }
}
