import DurablePostgres
import DurableRunStore
import DurableSQLite

/// A run's state as `status` shows it: the run, its state, who works on it, and a claiming store's workers.
///
/// ```swift
/// if let status = try await opened.status(ofRun: nil) { print(status.run.id, status.state, status.holder ?? "–") }
/// ```
public struct RunStatus: Sendable {
    /// The run.
    public var run: RunRecord
    /// Its state for operators (`interrupted` when `running` and nobody works on it).
    public var state: RunState
    /// Who works on it while it is live: the SQLite lock's holder, or `N live workers`.
    public var holder: String?
    /// A claiming store's workers, live ones first; `nil` on a locked store.
    public var workers: [WorkerRecord]?
    /// A claiming store's results refused because their lease had expired; `nil` on a locked store.
    public var refused: Int?
}

extension OpenedRunStore {
    /// The status of the run `runID` (`nil`: the latest run), or `nil` when there is no such run.
    public func status(ofRun runID: String?) async throws -> RunStatus? {
        let found: RunRecord?
        if let runID { found = try await store.run(id: runID) } else { found = try await store.runs().first }
        guard let run = found else { return nil }
        let state = try await store.currentState(of: run)
        var status = RunStatus(run: run, state: state)
        switch self {
        case .locked(let locked):
            status.holder = state == .live ? locked.lock(forRun: run.id).currentHolder().map { "\($0)" } : nil
        case .claiming(let claiming):
            let workers = try await claiming.workers(runID: run.id)
            status.workers = workers
            status.refused = try await claiming.refusedCount(runID: run.id)
            let live = workers.filter(\.isLive).count
            status.holder = state == .live ? "\(live) live worker\(live == 1 ? "" : "s")" : nil
        }
        return status
    }
}
