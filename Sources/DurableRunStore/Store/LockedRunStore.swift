import DurableIO

/// A ``RunStore`` where one process at a time works on a run, holding the run's `ProcessLock`: the embedded
/// (SQLite) mode. ``ResumableRunner`` works over one.
///
/// ```swift
/// let store: any LockedRunStore = try SQLiteRunStore(path: "runs.sqlite")
/// print(store.lock(forRun: id).describeHolder())
/// ```
public protocol LockedRunStore: RunStore {
    /// The lock that keeps a second process off the run. The SQLite store's is a `FileLock` beside the database.
    func lock(forRun id: String) -> any ProcessLock
}

extension LockedRunStore {
    /// A run's state for operators: a `running` run whose lock no process holds is ``RunState/interrupted``.
    public func state(of run: RunRecord) -> RunState {
        switch run.status {
        case .completed: return .completed
        case .failed: return .failed
        case .running: return lock(forRun: run.id).currentHolder() == nil ? .interrupted : .live
        }
    }

    /// ``state(of:)``: the lock is the truth.
    public func currentState(of run: RunRecord) async throws -> RunState { state(of: run) }
}
