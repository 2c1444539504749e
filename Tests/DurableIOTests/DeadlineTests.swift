import DurableRunStore
import Foundation
import Testing

/// `Deadline.run(idle:)`: a long operation that keeps reporting progress is never cut off; one that falls silent is.
@Suite("Deadline on progress")
struct DeadlineTests {
    struct TimedOut: Error {}

    @Test("an operation three times longer than the limit that beats every 100 ms finishes; a silent one times out")
    func idleLimit() async throws {
        let moving = try await Deadline.run(idle: .seconds(1), timeoutError: TimedOut()) { progress in
            for _ in 0..<30 {
                try await Task.sleep(for: .milliseconds(100))
                progress.beat()
            }
            return "finished"
        }
        #expect(moving == "finished")
        let started = ContinuousClock.now
        await #expect(throws: TimedOut.self) {
            try await Deadline.run(idle: .milliseconds(300), timeoutError: TimedOut()) { progress in
                progress.beat()
                try await Task.sleep(for: .seconds(30))
            }
        }
        #expect(ContinuousClock.now - started < .seconds(20), "cut off at the limit, not after the work")
    }

    @Test("a beat that allows extra time for a silent step (a large commit) holds off the limit for that long")
    func allowance() async throws {
        let done = try await Deadline.run(idle: .milliseconds(300), timeoutError: TimedOut()) { progress in
            progress.beat(allowing: .seconds(2))
            try await Task.sleep(for: .milliseconds(1_200))
            return true
        }
        #expect(done)
    }
}
