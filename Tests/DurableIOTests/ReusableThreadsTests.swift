import Foundation
import Synchronization
import Testing

@testable import DurableIO

@Suite("Reusable threads for per-item blocking work", .inATestSlot)
struct ReusableThreadsTests {
    /// The thread a job ran on, as an integer.
    private static func currentThread() -> UInt { UInt(pthread_self()) }

    @Test("a job after another runs on the thread the first one left parked")
    func aParkedThreadRunsTheNextJob() async {
        let threads = ReusableThreads(name: "test reuse")
        let first = await threads.run { Self.currentThread() }
        // The thread parks after resuming the caller: give it the moment it takes.
        while threads.parkedCount == 0 { try? await Task.sleep(for: .milliseconds(1)) }
        let second = await threads.run { Self.currentThread() }
        #expect(first == second)
        #expect(await threads.run { 6 * 7 } == 42)
    }

    @Test("jobs that wait for each other all run at once: a busy pool makes a thread, it never queues a job")
    func jobsThatWaitForEachOtherDoNotDeadlock() async {
        let threads = ReusableThreads(name: "test barrier", idleLimit: 4)
        let count = 24
        let arrived = Arrivals()
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<count {
                group.addTask {
                    await threads.run {
                        arrived.count.add(1, ordering: .sequentiallyConsistent)
                        // Each job waits (up to 10 s) until every job has started: only possible on 24 threads.
                        let deadline = Date(timeIntervalSinceNow: 10)
                        while arrived.count.load(ordering: .sequentiallyConsistent) < count && Date() < deadline { usleep(1_000) }
                        return arrived.count.load(ordering: .sequentiallyConsistent) == count
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == count && results.allSatisfy { $0 })
        while threads.parkedCount < 4 { try? await Task.sleep(for: .milliseconds(1)) }
        try? await Task.sleep(for: .milliseconds(20))
        #expect(threads.parkedCount == 4, "threads past the idle limit end instead of parking")
    }
}

/// How many jobs have started, shared by the jobs.
private final class Arrivals: Sendable {
    let count = Atomic<Int>(0)
}
