import DurableIO
import Synchronization
import Testing

@Suite("Scheduler: bounded concurrency, stops and commit policies", .inATestSlot)
struct SchedulerTests {
    @Test func batchesCommitOnCountAndNeverRunMoreThanJobsAtOnce() async throws {
        let buffer = Mutex<[Int]>([])
        let batches = Mutex<[[Int]]>([])
        let running = Atomic<Int>(0)
        let most = Atomic<Int>(0)
        let scheduler = Scheduler<Int>(
            jobs: 3, stop: StopRequest(), tick: .milliseconds(50),
            policy: .batches(count: 4, interval: .seconds(3600), pending: { buffer.withLock { $0.count } }) {
                let batch = buffer.withLock { b in defer { b.removeAll() }; return b }
                batches.withLock { $0.append(batch) }
            })
        var feed = ItemList(Array(0..<10))
        try await scheduler.run(&feed, attempt: { n in
            let now = running.add(1, ordering: .relaxed).newValue
            most.max(now, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(5))
            running.subtract(1, ordering: .relaxed)
            return n
        }) { n in
            buffer.withLock { $0.append(n) }
            return .keepStarting
        }
        #expect(most.load(ordering: .relaxed) <= 3)
        #expect(batches.withLock { $0.map(\.count) } == [4, 4], "two full batches; the last 2 are left to the caller")
        #expect(buffer.withLock { $0.count } == 2)
    }

    @Test func eachItemCommitsInTheItemsTaskBeforeItCountsAsFinished() async throws {
        let committed = Mutex<Set<Int>>([])
        let unseen = Mutex<[Int]>([])
        let scheduler = Scheduler<Int>(
            jobs: 4, stop: StopRequest(), policy: .eachItem { n in _ = committed.withLock { $0.insert(n) } })
        var feed = ItemList(Array(0..<50))
        try await scheduler.run(&feed, attempt: { $0 }) { n in
            if !committed.withLock({ $0.contains(n) }) { unseen.withLock { $0.append(n) } }
            return .keepStarting
        }
        #expect(committed.withLock { $0.count } == 50)
        #expect(unseen.withLock { $0 }.isEmpty)
    }

    @Test func aStopOrStopStartingEndsTheStartingAndLetsItemsInFlightFinish() async throws {
        let stop = StopRequest()
        let finished = Atomic<Int>(0)
        let scheduler = Scheduler<Int>(jobs: 2, stop: stop, policy: .eachItem { _ in })
        var feed = ItemList(Array(0..<100))
        try await scheduler.run(&feed, attempt: { $0 }) { n in
            if finished.add(1, ordering: .relaxed).newValue == 10 { stop.request(.requested("test")) }
            return .keepStarting
        }
        #expect(feed.started < 100 && finished.load(ordering: .relaxed) == feed.started)

        var again = ItemList(Array(0..<100))
        let seen = Atomic<Int>(0)
        let one = Scheduler<Int>(jobs: 1, stop: StopRequest(), policy: .eachItem { _ in })
        try await one.run(&again, attempt: { $0 }) { _ in
            seen.add(1, ordering: .relaxed).newValue == 5 ? .stopStarting : .keepStarting
        }
        #expect(again.started == 5 && seen.load(ordering: .relaxed) == 5)
    }
}
