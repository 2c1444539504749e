import Foundation
import SystemPackage

/// "Only one process works on this": the protocol both lock kinds share, ``FileLock`` (the default) and
/// ``LockFile``.
///
/// A lock object is one handle. Acquiring it twice without releasing throws; releasing a handle that does not
/// hold the lock throws — neither is a silent no-op. Two handles, in one process or in two, never hold an
/// exclusive lock at once: a second handle in the same process waits or fails like any other process.
///
/// ```swift
/// let lock = FileLock(at: "features.jsonl.lock")
/// try await lock.withLock(timeout: .seconds(30)) {
///     try await runTheJob(fencingToken: lock.token!)
/// }
/// ```
public protocol ProcessLock: AnyObject, Sendable {
    /// The lock file.
    var path: FilePath { get }
    /// Takes the lock if it is free.
    ///
    /// - Returns: `true` when this handle now holds it, `false` when another holder has it.
    /// - Throws: ``DurableIOError`` when this handle already holds it, or a system call fails.
    func tryAcquire() throws -> Bool
    /// Releases the lock.
    ///
    /// - Throws: ``DurableIOError/Code/lockNotHeld`` when this handle does not hold it,
    ///   ``DurableIOError/Code/lockCompromised`` when it was taken from this handle meanwhile.
    func release() throws
    /// The fencing token of the current acquisition, `nil` when not held (or for a shared lock).
    var token: Int? { get }
    /// The holder's record, when someone holds the lock and left one.
    func currentHolder() -> LockOwner?
    /// Who holds the lock, for messages: the record, or what is known without one.
    func describeHolder() -> String
}

extension ProcessLock {
    /// Takes the lock, waiting up to `timeout` with backoff (10 ms doubling to 250 ms, jittered); never a busy loop.
    /// Cancellable: cancellation ends the wait with `CancellationError`.
    ///
    /// - Throws: ``DurableIOError/Code/lockHeld`` naming the holder when the time runs out.
    public func acquire(timeout: Duration) async throws {
        var backoff = LockBackoff(timeout: timeout)
        while true {
            if try tryAcquire() { return }
            guard let pause = backoff.next() else { throw heldError(waited: timeout) }
            try await Task.sleep(for: pause)
        }
    }

    /// Takes the lock, blocking the calling thread up to `timeout`. See ``acquire(timeout:)-(Duration)``.
    public func acquireBlocking(timeout: Duration) throws {
        var backoff = LockBackoff(timeout: timeout)
        while true {
            if try tryAcquire() { return }
            guard let pause = backoff.next() else { throw heldError(waited: timeout) }
            Thread.sleep(forTimeInterval: pause.seconds)
        }
    }

    /// Runs `body` holding the lock, and releases it afterwards whatever `body` does.
    public func withLock<R>(timeout: Duration = .zero, _ body: () throws -> R) throws -> R {
        try acquireBlocking(timeout: timeout)
        let result: R
        do { result = try body() } catch {
            try? release()
            throw error
        }
        try release()
        return result
    }

    /// Runs `body` holding the lock, and releases it afterwards whatever `body` does.
    public func withLock<R>(timeout: Duration = .zero, _ body: () async throws -> R) async throws -> R {
        try await acquire(timeout: timeout)
        let result: R
        do { result = try await body() } catch {
            try? release()
            throw error
        }
        try release()
        return result
    }

    public func describeHolder() -> String {
        currentHolder().map { "\($0)" } ?? "another process (no owner record yet)"
    }

    /// The error for a lock someone else holds: `run.lock is held by pid 4242 (durable-extract run) on host-a since …; waited 30 s`.
    package func heldError(waited: Duration = .zero) -> DurableIOError {
        let name = path.lastComponent.map { "\($0)" } ?? "\(path)"
        let holder = describeHolder()
        let waitText = waited == .zero ? "" : "; waited \(Int(waited.seconds.rounded())) s"
        return DurableIOError(
            .lockHeld, operation: "acquire lock", path: path, message: "\(name) is held by \(holder)\(waitText)",
            hint: "Wait for that process to finish, or stop it. Do not delete the lock file while it runs.")
    }
}

/// Exponential backoff with jitter up to a deadline.
struct LockBackoff {
    private let deadline: ContinuousClock.Instant
    private var pause: Duration = .milliseconds(10)

    init(timeout: Duration) { deadline = .now + timeout }

    mutating func next() -> Duration? {
        let now = ContinuousClock.now
        guard now < deadline else { return nil }
        let jittered = pause * Double.random(in: 0.5...1.0)
        pause = min(pause * 2, .milliseconds(250))
        return min(jittered, deadline - now)
    }
}
