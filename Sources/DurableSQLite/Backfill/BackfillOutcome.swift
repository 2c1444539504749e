import DurableIO

/// How a backfill call ended without an error. A failure throws ``DurableSQLiteError`` after recording `failed`.
///
/// ```swift
/// switch try Backfill.run(definition, in: "app.db", stop: stop) {
/// case .completed(let record): print("\(record.examinedRows) examined, \(record.changedRows) changed")
/// case .interrupted(let record, let reason): print("stopped by \(reason) at key \(record.cursorKey ?? 0)")
/// case .alreadyCompleted: print("nothing to do")
/// }
/// ```
public enum BackfillOutcome: Sendable, Equatable {
    /// Every row in scope was examined; the record says `completed`.
    case completed(BackfillRecord)
    /// A stop was requested; the current batch finished and the record says `interrupted`.
    case interrupted(BackfillRecord, StopRequest.Reason)
    /// It had completed before this call; nothing was done.
    case alreadyCompleted(BackfillRecord)

    /// The recorded state.
    public var record: BackfillRecord {
        switch self {
        case .completed(let record), .interrupted(let record, _), .alreadyCompleted(let record): return record
        }
    }
}
