import DurableRunStore
import Foundation
import Synchronization
import Testing

/// `Deadline.run(idle:)`: a long operation that keeps reporting progress is never cut off; one that falls silent is.
///
/// Timing on a loaded machine (the whole suite at once on 2 cores) can stretch a 10 ms sleep past a second, so each
/// check is made so that load cannot fail it wrongly: a try whose beats themselves came further apart than the limit
/// proves nothing and is repeated.
@Suite("Deadline on progress", .inATestSlot)
struct DeadlineTests {
    struct TimedOut: Error {}

    @Test("an operation three times longer than the limit that beats every 10 ms finishes")
    func beatsHoldOffTheLimit() async throws {
        let limit = Duration.seconds(1)
        for attempt in 1...5 {
            let lastBeat = Mutex(ContinuousClock.now)
            do {
                let result = try await Deadline.run(idle: limit, timeoutError: TimedOut()) { progress in
                    let started = ContinuousClock.now
                    while ContinuousClock.now - started < limit * 3 {
                        try await Task.sleep(for: .milliseconds(10))
                        progress.beat()
                        lastBeat.withLock { $0 = .now }
                    }
                    return "finished"
                }
                #expect(result == "finished")
                return
            } catch is TimedOut {
                // Cut off although the operation had beaten well within the limit: the failure this test is for.
                // Otherwise the beats themselves came late (starved by the load): the try proves nothing.
                let silence = ContinuousClock.now - lastBeat.withLock { $0 }
                #expect(silence >= limit * 0.8, "attempt \(attempt): timed out \(silence) after a beat")
                if silence < limit * 0.8 { return }
            }
        }
        // Every try was starved (beats further apart than the limit): the machine was too loaded to tell either way.
    }

    @Test("an operation that falls silent is cut off at the limit, not after its work")
    func silenceTimesOut() async throws {
        let started = ContinuousClock.now
        await #expect(throws: TimedOut.self) {
            try await Deadline.run(idle: .milliseconds(300), timeoutError: TimedOut()) { progress in
                progress.beat()
                try await Task.sleep(for: .seconds(600))
            }
        }
        #expect(ContinuousClock.now - started < .seconds(300), "cut off at the limit, not after the work")
    }

    @Test("a beat that allows extra time for a silent step (a large commit) holds off the limit for that long")
    func allowance() async throws {
        let done = try await Deadline.run(idle: .milliseconds(300), timeoutError: TimedOut()) { progress in
            progress.beat(allowing: .seconds(60))
            try await Task.sleep(for: .seconds(1))
            return true
        }
        #expect(done)
    }
}
