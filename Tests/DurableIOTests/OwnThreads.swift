import Foundation
import Testing

/// Runs each test of a suite on threads of its own instead of Swift's cooperative pool: for suites whose tests
/// block — thread joins, semaphores, sleeps, fsync loops, waits on child processes.
///
/// On 2 cores the cooperative pool has 2 threads. Two blocking tests held both for nearly three minutes at the
/// suite's start (every test that started with them reported "passed after 165 s"), and every async test's
/// deadline ran out meanwhile — the PostgreSQL stores' pool starved, a watched child finished before the test
/// acted. With this trait a blocking test holds a thread that nothing else needs.
///
/// ```swift
/// @Suite("Locks", .ownThreads, .inATestSlot)
/// struct LockTests { … }
/// ```
struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    /// Each test case gets the scope; the suite itself needs none.
    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { testCase == nil ? nil : self }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreads {
    /// Each test runs on threads of its own, off the cooperative pool (``OwnThreads``).
    static var ownThreads: Self { OwnThreads() }
}

/// A task executor that runs every job on a new thread: nothing it runs can block another's progress. Costly per
/// job (a thread start), which is nothing beside the blocking work of the tests that use it.
final class ThreadPerJobExecutor: TaskExecutor {
    static let shared = ThreadPerJobExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        Thread { job.runSynchronously(on: executor) }.start()
    }
}
