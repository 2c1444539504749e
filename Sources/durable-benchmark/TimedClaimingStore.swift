import DurableRunStore
import Foundation
import Synchronization

/// A ``ClaimingRunStore`` that forwards every call and times claims, commits and renewals (for the PostgreSQL
/// benchmark's latency percentiles).
final class TimedClaimingStore: ClaimingRunStore {
    let base: any ClaimingRunStore
    private let timings = Mutex<(claims: [Double], commits: [Double], renewals: [Double])>(([], [], []))

    init(_ base: any ClaimingRunStore) { self.base = base }

    var claims: [Double] { timings.withLock { $0.claims } }
    var commits: [Double] { timings.withLock { $0.commits } }
    var renewals: [Double] { timings.withLock { $0.renewals } }

    private func timed<R>(_ path: WritableKeyPath<(claims: [Double], commits: [Double], renewals: [Double]), [Double]>, _ body: () async throws -> R) async rethrows -> R {
        let start = now()
        let result = try await body()
        let elapsed = now() - start
        timings.withLock { $0[keyPath: path].append(elapsed) }
        return result
    }

    func claim(runID: String, worker: WorkerIdentity, limit: Int, lease: Duration) async throws -> [ClaimedItem] {
        try await timed(\.claims) { try await base.claim(runID: runID, worker: worker, limit: limit, lease: lease) }
    }

    func renewLeases(runID: String, worker: WorkerIdentity, lease: Duration) async throws -> Int {
        try await timed(\.renewals) { try await base.renewLeases(runID: runID, worker: worker, lease: lease) }
    }

    func commit(
        _ results: [ItemResult], leases: [Int64: Int64], forRun id: String, worker: WorkerIdentity, progress: ProgressUpdate
    ) async throws -> LeasedCommit {
        try await timed(\.commits) { try await base.commit(results, leases: leases, forRun: id, worker: worker, progress: progress) }
    }

    func reopenErrors(runID: String) async throws -> Int { try await base.reopenErrors(runID: runID) }
    func hasUnfinishedItems(runID: String) async throws -> Bool { try await base.hasUnfinishedItems(runID: runID) }
    func leave(runID: String, worker: WorkerIdentity) async throws { try await base.leave(runID: runID, worker: worker) }
    func workers(runID: String) async throws -> [WorkerRecord] { try await base.workers(runID: runID) }
    func refusedCount(runID: String) async throws -> Int { try await base.refusedCount(runID: runID) }
    func close() async throws { try await base.close() }
    func ingest(_ source: SourceFile, allowNewVersion: Bool) async throws -> IngestReport {
        try await base.ingest(source, allowNewVersion: allowNewVersion)
    }
    func sourceVersions(named name: String) async throws -> [SourceVersion] { try await base.sourceVersions(named: name) }
    func createRun(
        id: String, name: String?, source: SourceVersion, configuration: RunConfiguration, startedAt: Date
    ) async throws -> RunRecord {
        try await base.createRun(id: id, name: name, source: source, configuration: configuration, startedAt: startedAt)
    }
    func run(id: String) async throws -> RunRecord? { try await base.run(id: id) }
    func runs() async throws -> [RunRecord] { try await base.runs() }
    func results(ofRun id: String) async throws -> RunResults { try await base.results(ofRun: id) }
    func remainingItems(forRun id: String, selection: WorkSelection, after position: Int?, limit: Int) async throws -> [SourceItem] {
        try await base.remainingItems(forRun: id, selection: selection, after: position, limit: limit)
    }
    func commit(_ results: [ItemResult], forRun id: String, progress: ProgressUpdate) async throws -> RunRecord {
        try await base.commit(results, forRun: id, progress: progress)
    }
    func markResumed(runID id: String) async throws -> RunRecord { try await base.markResumed(runID: id) }
    func finalize(runID id: String, session: SessionFigures, at: Date) async throws -> RunRecord {
        try await base.finalize(runID: id, session: session, at: at)
    }
    func currentState(of run: RunRecord) async throws -> RunState { try await base.currentState(of: run) }
}

extension Array where Element == Double {
    /// The `p`-th percentile (nearest rank), `p` in 0…100.
    func percentile(_ p: Double) -> Double {
        let sorted = self.sorted()
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }
}
