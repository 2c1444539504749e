import DurableIO
import Testing

/// `RetryPolicy`: exponential backoff with full jitter, and which failures it retries.
@Suite("RetryPolicy: exponential backoff with full jitter", .inATestSlot)
struct RetryPolicyTests {
    struct Busy: Error {}
    struct Broken: Error {}

    @Test("the ceiling doubles from the delay and stops at the cap; every wait lies between 0 and its ceiling")
    func backoff() {
        let policy = RetryPolicy(retries: 10, delay: .seconds(2), maxDelay: .seconds(60))
        #expect((1...7).map { policy.ceiling(beforeRetry: $0) } == [2, 4, 8, 16, 32, 60, 60].map { Duration.seconds($0) })
        var generator = SystemRandomNumberGenerator()
        let waits = (0..<2_000).map { _ in policy.wait(beforeRetry: 3, using: &generator) }
        #expect(waits.allSatisfy { $0 >= .zero && $0 <= .seconds(8) })
        #expect(waits.contains { $0 < .seconds(2) } && waits.contains { $0 > .seconds(6) }, "spread over the whole range")
    }

    @Test("a transient error is retried up to the limit, each failure reported; a permanent one is thrown at once")
    func retries() async throws {
        let policy = RetryPolicy(retries: 2, delay: .milliseconds(1), maxDelay: .milliseconds(2))
        var reported: [Int] = []
        let value = try await policy.attempt(isTransient: { $0 is Busy }, onFailure: { _, n in reported.append(n) }) { n in
            if n < 3 { throw Busy() }
            return n
        }
        #expect(value == 3 && reported == [1, 2])
        var calls = 0
        await #expect(throws: Broken.self) {
            try await policy.attempt(isTransient: { $0 is Busy }) { _ -> Int in calls += 1; throw Broken() }
        }
        #expect(calls == 1)
        calls = 0
        await #expect(throws: Busy.self) {
            try await policy.attempt(isTransient: { $0 is Busy }) { _ -> Int in calls += 1; throw Busy() }
        }
        #expect(calls == 3, "the first attempt and two retries")
    }
}
