import Foundation
import Synchronization

/// Runs an operation with a time limit that holds even when the operation ignores cancellation: PostgresNIO's pool
/// keeps a request waiting while it retries a server that refuses connections, so a worker cut off from the
/// database would otherwise wait for ever instead of noticing. (Package access: the worker's renewals and the
/// PostgreSQL store's calls use it.)
///
/// On time-out the operation is cancelled and abandoned (it ends on its own); the caller gets `timeoutError`.
///
/// ```swift
/// let rows = try await Deadline.run(.seconds(15), timeoutError: error) { try await client.query(q) }
/// ```
package enum Deadline {
    package static func run<R: Sendable>(
        _ limit: Duration, timeoutError: @autoclosure @escaping @Sendable () -> any Error,
        _ body: @escaping @Sendable () async throws -> R
    ) async throws -> R {
        let race = Race<R>()
        return try await withCheckedThrowingContinuation { continuation in
            race.start(continuation)
            let work = Task {
                do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                if !Task.isCancelled, race.finish(.failure(timeoutError())) { work.cancel() }
            }
            race.onFinish { timer.cancel() }
        }
    }

    /// Progress reported to ``run(idle:timeoutError:_:)``: each ``beat()`` starts the time limit again.
    package final class Progress: Sendable {
        private let last = Mutex(ContinuousClock.now)
        /// Something was done: the limit counts from now, or from `extra` later when the server has work to do
        /// that sends nothing back meanwhile (the commit of a large transaction flushes everything it wrote).
        package func beat(allowing extra: Duration = .zero) { last.withLock { $0 = .now + extra } }
        var lastBeat: ContinuousClock.Instant { last.withLock { $0 } }
    }

    /// Like ``run(_:timeoutError:_:)`` for a long operation that reports progress (a `COPY` of ten million rows):
    /// it times out only when `idle` passes without a ``Progress/beat()``, so a server that stops answering is
    /// still noticed while a long but moving operation is never cut off.
    ///
    /// ```swift
    /// try await Deadline.run(idle: .seconds(15), timeoutError: error) { progress in
    ///     for chunk in chunks { try await send(chunk); progress.beat() }
    /// }
    /// ```
    package static func run<R: Sendable>(
        idle limit: Duration, timeoutError: @autoclosure @escaping @Sendable () -> any Error,
        _ body: @escaping @Sendable (Progress) async throws -> R
    ) async throws -> R {
        let race = Race<R>()
        let progress = Progress()
        return try await withCheckedThrowingContinuation { continuation in
            race.start(continuation)
            let work = Task {
                do { race.finish(.success(try await body(progress))) } catch { race.finish(.failure(error)) }
            }
            let timer = Task {
                while !Task.isCancelled {
                    let due = progress.lastBeat + limit
                    if ContinuousClock.now >= due {
                        if race.finish(.failure(timeoutError())) { work.cancel() }
                        return
                    }
                    try? await Task.sleep(until: due)
                }
            }
            race.onFinish { timer.cancel() }
        }
    }

    /// Resumes the continuation once: with the first of the result and the time-out.
    private final class Race<R: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<R, any Error>?
            var finished = false
            var cleanup: (@Sendable () -> Void)?
        }
        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<R, any Error>) { state.withLock { $0.continuation = continuation } }

        func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
            let already = state.withLock { s in
                if s.finished { return true }
                s.cleanup = cleanup
                return false
            }
            if already { cleanup() }
        }

        @discardableResult
        func finish(_ result: Result<R, any Error>) -> Bool {
            let (continuation, cleanup) = state.withLock { s -> (CheckedContinuation<R, any Error>?, (@Sendable () -> Void)?) in
                guard !s.finished else { return (nil, nil) }
                s.finished = true
                defer { s.continuation = nil; s.cleanup = nil }
                return (s.continuation, s.cleanup)
            }
            guard let continuation else { return false }
            continuation.resume(with: result)
            cleanup?()
            return true
        }
    }
}
