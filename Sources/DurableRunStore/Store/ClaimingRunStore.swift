import DurableIO
import Foundation

/// A ``RunStore`` that many workers, on many hosts, share one run through: each claims a small batch of items under
/// a lease, renews its leases while it works, and records results only while it still holds their leases.
///
/// The guarantees every implementation keeps:
/// - a claim takes items nobody holds a live lease on, and records the lease (worker, host, pid, expiry, a fresh
///   fencing token per item) in the same transaction; two workers never hold a live lease on one item;
/// - ``commit(_:leases:forRun:worker:progress:)`` records a result only when the worker still holds the item's
///   lease (same token, not expired by the *database's* clock); every other result is refused and counted, never
///   written — so an item may be *attempted* more than once (at-least-once), but is *recorded* once per attempt
///   that held the lease, on `(run, item)`;
/// - a worker that dies (kill -9, a host that vanishes) simply stops renewing: its leases expire and other workers
///   claim the items.
///
/// ```swift
/// let store: any ClaimingRunStore = try await PostgresRunStore.connect(to: url)
/// let me = WorkerIdentity.current()
/// let claimed = try await store.claim(runID: id, worker: me, limit: 10, lease: .seconds(30))
/// ```
public protocol ClaimingRunStore: RunStore {
    /// Claims up to `limit` items of a `running` run that have no result yet and no live lease, in source order,
    /// leasing them to `worker` for `lease`; records the worker's heartbeat in the same transaction.
    ///
    /// - Returns: the claimed items with their lease tokens; empty when nothing is claimable now.
    func claim(runID: String, worker: WorkerIdentity, limit: Int, lease: Duration) async throws -> [ClaimedItem]

    /// Extends every live lease `worker` holds on the run by `lease` from now, and records its heartbeat.
    ///
    /// - Returns: how many leases were renewed (fewer than held means some expired and are lost).
    func renewLeases(runID: String, worker: WorkerIdentity, lease: Duration) async throws -> Int

    /// Records `results` whose leases `worker` still holds, releases those leases, and updates the run's counts,
    /// progress time and the ETA aggregated over all workers — in one transaction.
    ///
    /// - Parameters:
    ///   - results: the finished items' results.
    ///   - leases: the token of each result's claim, by item id.
    ///   - id: the run.
    ///   - worker: the worker committing; only leases it still holds are honoured.
    ///   - progress: the commit's time and this worker's ETA, aggregated into the run's.
    /// - Returns: what was recorded and what was refused.
    func commit(
        _ results: [ItemResult], leases: [Int64: Int64], forRun id: String, worker: WorkerIdentity,
        progress: ProgressUpdate
    ) async throws -> LeasedCommit

    /// Makes the run's items whose result is an error claimable again (for `resume --retry-errors-only`).
    ///
    /// - Returns: how many items were reopened.
    func reopenErrors(runID: String) async throws -> Int

    /// Whether the run still has items with no result (claimable now or leased by someone).
    func hasUnfinishedItems(runID: String) async throws -> Bool

    /// Records that `worker` stopped working on the run (its leases are released).
    func leave(runID: String, worker: WorkerIdentity) async throws

    /// The workers that joined the run, live ones (heartbeat not expired) first.
    func workers(runID: String) async throws -> [WorkerRecord]

    /// Results refused over the run's life (their lease had expired or been taken).
    func refusedCount(runID: String) async throws -> Int
}

/// Who a worker is: a unique id, its host and pid.
///
/// ```swift
/// let me = WorkerIdentity.current()   // "host-a:4242:9f1c", host "host-a", pid 4242
/// ```
public struct WorkerIdentity: Sendable, Equatable, Hashable, Codable {
    /// Unique per worker process and session: `host:pid:random`.
    public var id: String
    /// The host name.
    public var host: String
    /// The process id.
    public var pid: Int32

    /// An identity.
    public init(id: String, host: String, pid: Int32) {
        self.id = id
        self.host = host
        self.pid = pid
    }

    /// This process, with a fresh random suffix.
    public static func current() -> WorkerIdentity {
        let host = RealFileSystem().hostName()  // gethostname(2), as lock files record it
        let pid = ProcessInfo.processInfo.processIdentifier
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return WorkerIdentity(id: "\(host):\(pid):\(suffix)", host: host, pid: pid)
    }
}

/// An item claimed under a lease: the item, and the fencing token its result must carry.
///
/// ```swift
/// for claimed in try await store.claim(runID: id, worker: me, limit: 10, lease: .seconds(30)) {
///     print(claimed.item.key, claimed.token)
/// }
/// ```
public struct ClaimedItem: Sendable, Equatable {
    /// The item.
    public var item: SourceItem
    /// The lease's fencing token: a new one per claim of the item.
    public var token: Int64

    /// A claimed item.
    public init(item: SourceItem, token: Int64) {
        self.item = item
        self.token = token
    }
}

/// What a leased commit did: results recorded, and results refused because their lease was no longer held.
///
/// ```swift
/// let outcome = try await store.commit(results, leases: tokens, forRun: id, worker: me, progress: update)
/// if !outcome.refused.isEmpty { print("\(outcome.refused.count) results refused: lease expired") }
/// ```
public struct LeasedCommit: Sendable, Equatable {
    /// The run after the commit.
    public var run: RunRecord
    /// Item ids recorded.
    public var recorded: [Int64]
    /// Item ids refused: their lease expired or was taken by another worker.
    public var refused: [Int64]

    /// A commit outcome.
    public init(run: RunRecord, recorded: [Int64], refused: [Int64]) {
        self.run = run
        self.recorded = recorded
        self.refused = refused
    }
}

/// A worker as the store knows it: who, its last heartbeat, and what it did.
///
/// ```swift
/// for w in try await store.workers(runID: id) { print(w.identity.id, w.isLive ? "live" : "expired", w.recorded) }
/// ```
public struct WorkerRecord: Sendable, Equatable {
    /// Who.
    public var identity: WorkerIdentity
    /// When it joined.
    public var joinedAt: Date
    /// Its last heartbeat (claim, renewal or commit).
    public var lastHeartbeatAt: Date
    /// When its heartbeat expires: past this it counts as gone.
    public var expiresAt: Date
    /// Whether it left cleanly.
    public var left: Bool
    /// Whether its heartbeat is still live (by the store's clock when read).
    public var isLive: Bool
    /// Items it claimed.
    public var claimed: Int
    /// Results it recorded.
    public var recorded: Int
    /// Results of its that were refused (lease expired or taken).
    public var refused: Int

    /// A record.
    public init(
        identity: WorkerIdentity, joinedAt: Date, lastHeartbeatAt: Date, expiresAt: Date, left: Bool, isLive: Bool,
        claimed: Int, recorded: Int, refused: Int
    ) {
        self.identity = identity
        self.joinedAt = joinedAt
        self.lastHeartbeatAt = lastHeartbeatAt
        self.expiresAt = expiresAt
        self.left = left
        self.isLive = isLive
        self.claimed = claimed
        self.recorded = recorded
        self.refused = refused
    }
}
