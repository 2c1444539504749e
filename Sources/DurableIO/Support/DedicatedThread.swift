import Foundation

/// Blocking work on a thread of its own, awaited without holding a thread of the cooperative pool (two of them on a
/// 2-core machine): opening and recovering a ledger, an `fdatasync`, a finalize that writes and reads back the
/// output.
///
/// ```swift
/// let ledger = try await DedicatedThread.run("open ledger") {
///     try KeyLedger.open(at: "out.jsonl.done")
/// }
/// ```
package enum DedicatedThread {
    /// Runs `body` on a new thread named `name` and resumes with its result.
    package static func run<R: Sendable>(
        _ name: String, _ body: @escaping @Sendable () throws -> R
    ) async throws -> R {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<R, any Error>) in
            let thread = Thread { continuation.resume(with: Swift.Result { try body() }) }
            thread.name = "DurableIO \(name)"
            thread.start()
        }
    }
}
