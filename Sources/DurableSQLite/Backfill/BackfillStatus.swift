/// Where a backfill stands, as recorded in `_durable_backfills` — and corrected when read: a record that says
/// `running` while no process holds the backfill's lock is reported ``interrupted``.
///
/// ```swift
/// if try Backfill.status(named: "tx_last_seen_backfill_v1", in: "app.db")?.status == .failed { page() }
/// ```
public enum BackfillStatus: String, Sendable, Codable, Equatable, CaseIterable {
    /// A process is working on it (it holds the lock).
    case running
    /// Every row in scope was examined; nothing is left to do.
    case completed
    /// A query failed; ``BackfillRecord/message`` says which and why. Fix the cause, then resume.
    case failed
    /// Stopped before the end — by a signal, a stop request, or a process that died (`kill -9`, a crash, a
    /// power cut). Resume continues from the recorded cursor.
    case interrupted
}
