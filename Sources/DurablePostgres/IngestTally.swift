import DurableRunStore
import Foundation
import Synchronization

/// How far an ingest's `COPY` got — items and bytes sent, and whether all were — so that an ingest cut off by a
/// server that stopped answering says how much it had sent, that nothing was stored, and how to allow a busy server
/// longer.
///
/// ```swift
/// let sent = IngestTally()
/// sent.record(items: 250_000, bytes: 18_000_000)
/// throw sent.explaining(timeout, source: source)   // "… after 250,000 items (18 MB) had been sent …"
/// ```
final class IngestTally: Sendable {
    private let state = Mutex<(items: Int, bytes: Int, allSent: Bool)>((0, 0, false))
    private let started = ContinuousClock.now

    /// The items and bytes sent so far; `allSent` once the last of them is.
    func record(items: Int, bytes: Int, allSent: Bool = false) {
        state.withLock { $0 = (items, bytes, allSent) }
    }

    /// `error` (the store did not answer, or the connection broke) with what the ingest had sent, and that the
    /// transaction rolled back.
    func explaining(_ error: DurablePostgresError, source: SourceFile) -> DurablePostgresError {
        let (items, bytes, allSent) = state.withLock { $0 }
        let elapsed = String(format: "%.0f", (ContinuousClock.now - started).seconds)
        let megabytes = String(format: "%.0f", Double(bytes) / 1_000_000)
        let progress =
            allSent
            ? "all \(items.formatted()) items (\(megabytes) MB) had been sent in \(elapsed) s and the server was finishing the COPY or its commit"
            : "\(items.formatted()) items (\(megabytes) MB) had been sent in \(elapsed) s"
        return DurablePostgresError(
            error.code, operation: error.operation,
            message: "ingest of \(source.path): \(error.message) after \(progress); the transaction was rolled back: nothing of this source is stored",
            hint: error.hint.map { $0 + " Then ingest again: it starts from the first item." }, sqlState: error.sqlState)
    }
}
