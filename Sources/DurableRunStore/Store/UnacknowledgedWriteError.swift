/// A store's error that can say its write or sync itself failed (a disk I/O error, the disk is full): what was being
/// committed is not acknowledged, and nothing is written again in this session.
///
/// ``ResumableRunner`` reads it after a failed commit: after such a failure it stops without writing; after any other
/// (a lock timeout) it first records what can still be recorded. A store whose errors never mean this need not
/// conform. The SQLite store's error conforms (its `ioFailed` code).
///
/// ```swift
/// extension MyStoreError: UnacknowledgedWriteError {
///     public var isUnacknowledgedWrite: Bool { code == .diskFull || code == .syncFailed }
/// }
/// ```
public protocol UnacknowledgedWriteError: Error {
    /// Whether a write or a sync failed, so that what it carried is not acknowledged and is not written again.
    var isUnacknowledgedWrite: Bool { get }
}
