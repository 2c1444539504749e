import Foundation
import Synchronization

/// Blocking work that recurs once per item (pumping an item command's pipes), on threads that are kept and reused
/// instead of made and ended each time, and awaited without holding a thread of the cooperative pool.
///
/// A job runs on an idle thread when there is one, else on a new thread; a thread whose job is done parks for
/// the next one, up to `idleLimit` parked threads (one over the limit ends). Making a thread per item — `clone3`,
/// a stack mapped and unmapped, the scheduler's first wake — was a measured part of durable-extract's overhead over
/// `xargs -P` (`Scripts/benchmark-overhead.sh`). Never fewer threads than jobs: a job never waits for another to
/// end, so jobs that wait on each other cannot deadlock.
///
/// ```swift
/// let threads = ReusableThreads(name: "item pipes")
/// let output = await threads.run { pump(pipes) }   // blocks one of the pool's threads, not the cooperative pool
/// ```
package final class ReusableThreads: Sendable {
    private let name: String
    private let idleLimit: Int
    private let idle = Mutex<[Parked]>([])

    /// A parked thread: waits on its semaphore for the job put in its slot.
    private final class Parked: Sendable {
        let wake = DispatchSemaphore(value: 0)
        let job = Mutex<(@Sendable () -> Void)?>(nil)
    }

    /// Threads named `DurableIO \(name)`, at most `idleLimit` of them parked at a time.
    package init(name: String, idleLimit: Int = 256) {
        self.name = name
        self.idleLimit = idleLimit
    }

    /// Runs `body` on one of the threads and resumes with its result.
    package func run<R: Sendable>(_ body: @escaping @Sendable () -> R) async -> R {
        await withCheckedContinuation { (continuation: CheckedContinuation<R, Never>) in
            start { continuation.resume(returning: body()) }
        }
    }

    /// Runs `body` on one of the threads and resumes with its result or its error.
    package func run<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<R, any Error>) in
            start { continuation.resume(with: Result { try body() }) }
        }
    }

    /// The number of threads parked now (for tests).
    package var parkedCount: Int { idle.withLock { $0.count } }

    /// Runs `job` on one of the threads and returns at once.
    package func start(_ job: @escaping @Sendable () -> Void) {
        if let parked = idle.withLock({ $0.popLast() }) {
            parked.job.withLock { $0 = job }
            parked.wake.signal()
            return
        }
        let thread = Thread { [self] in
            let parked = Parked()
            var next: (@Sendable () -> Void)? = job
            while let current = next {
                current()
                let kept = idle.withLock { threads -> Bool in
                    guard threads.count < idleLimit else { return false }
                    threads.append(parked)
                    return true
                }
                guard kept else { return }
                parked.wake.wait()
                next = parked.job.withLock { $0.take() }
            }
        }
        thread.name = "DurableIO \(name)"
        thread.start()
    }
}
