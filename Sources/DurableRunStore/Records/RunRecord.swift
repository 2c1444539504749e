import Foundation

/// A run as the store holds it: its status, configuration, pinned source, counts, progress and ETA.
///
/// ```swift
/// let run = try await store.run(id: id)!
/// print("\(run.status): \(run.completedCount) of \(run.totalItems) done, \(run.failedCount) failed")
/// ```
public struct RunRecord: Sendable, Equatable {
    /// The run id (a UUID, lower case).
    public var id: String
    /// The name given at start, if any.
    public var name: String?
    /// `running`, `failed` or `completed`.
    public var status: RunStatus
    /// The stored configuration (authoritative on resume).
    public var configuration: RunConfiguration
    /// The source version the run is pinned to.
    public var sourceID: Int64
    /// The source's name and version, for display.
    public var sourceName: String
    /// The pinned version's number.
    public var sourceVersion: Int
    /// The SHA-256 of the source file the run started with.
    public var sourceChecksum: String
    /// Items in the pinned source.
    public var totalItems: Int
    /// Items with a successful result.
    public var completedCount: Int
    /// Items whose result is an error.
    public var failedCount: Int
    /// When the last batch was committed.
    public var lastProgressAt: Date?
    /// When the run should be done at the recent rate (`nil` while unknown).
    public var estimatedCompletionAt: Date?
    /// When the run started.
    public var startedAt: Date
    /// When it was finalized (`nil` while running).
    public var finishedAt: Date?
    /// The final metrics, set by finalize.
    public var finalMetrics: RunMetrics?

    /// Items with no result yet.
    public var missingCount: Int { max(0, totalItems - completedCount - failedCount) }

    /// Creates a record (stores build it from their rows).
    public init(
        id: String, name: String?, status: RunStatus, configuration: RunConfiguration, sourceID: Int64,
        sourceName: String, sourceVersion: Int, sourceChecksum: String, totalItems: Int, completedCount: Int,
        failedCount: Int, lastProgressAt: Date?, estimatedCompletionAt: Date?, startedAt: Date, finishedAt: Date?,
        finalMetrics: RunMetrics?
    ) {
        self.id = id
        self.name = name
        self.status = status
        self.configuration = configuration
        self.sourceID = sourceID
        self.sourceName = sourceName
        self.sourceVersion = sourceVersion
        self.sourceChecksum = sourceChecksum
        self.totalItems = totalItems
        self.completedCount = completedCount
        self.failedCount = failedCount
        self.lastProgressAt = lastProgressAt
        self.estimatedCompletionAt = estimatedCompletionAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.finalMetrics = finalMetrics
    }
}

/// The status a run has in the store.
///
/// ```swift
/// if run.status == .completed { print("nothing to resume") }
/// ```
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    /// Started and not finalized: live, or interrupted when no process holds its lock (see ``RunState``).
    case running
    /// Finalized with errored or missing items: resumable (`resume --retry-errors-only`).
    case failed
    /// Finalized with a successful result for every item: never resumed.
    case completed
}

/// What an operator needs to know about a run: its status, and for a `running` run whether a process is working on
/// it (``live``) or it died (``interrupted``).
///
/// ```swift
/// let state = runner.state(of: run)
/// print(state)   // "interrupted"
/// ```
public enum RunState: String, Sendable, Codable, CustomStringConvertible {
    /// `running`, and a process holds the run's lock.
    case live = "running"
    /// `running`, but no process holds the run's lock: it was killed or crashed. `resume` continues it.
    case interrupted
    /// Finalized with errors.
    case failed
    /// Finalized, every item succeeded.
    case completed

    public var description: String { rawValue }
}

/// The figures finalize records for a run.
///
/// ```swift
/// if let metrics = run.finalMetrics { print("\(metrics.itemsPerSecond) items/s over \(metrics.sessions) sessions") }
/// ```
public struct RunMetrics: Sendable, Equatable, Codable {
    /// Items in the source.
    public var totalItems: Int
    /// Items with a successful result.
    public var succeeded: Int
    /// Items whose result is an error.
    public var failed: Int
    /// Items with no result (a run finalized as failed may have some).
    public var missing: Int
    /// Attempts over all items and all sessions (the sum of `attempt_count`).
    public var attempts: Int
    /// Items processed by the session that finalized the run.
    public var sessionItems: Int
    /// That session's wall-clock seconds.
    public var sessionSeconds: Double
    /// That session's items per second.
    public var itemsPerSecond: Double
    /// Seconds from the run's start to its finalize (including time between sessions).
    public var wallSeconds: Double

    /// The metrics.
    public init(
        totalItems: Int, succeeded: Int, failed: Int, missing: Int, attempts: Int, sessionItems: Int,
        sessionSeconds: Double, itemsPerSecond: Double, wallSeconds: Double
    ) {
        self.totalItems = totalItems
        self.succeeded = succeeded
        self.failed = failed
        self.missing = missing
        self.attempts = attempts
        self.sessionItems = sessionItems
        self.sessionSeconds = sessionSeconds
        self.itemsPerSecond = itemsPerSecond
        self.wallSeconds = wallSeconds
    }

    enum CodingKeys: String, CodingKey {
        case totalItems = "total_items", succeeded, failed, missing, attempts
        case sessionItems = "session_items", sessionSeconds = "session_seconds"
        case itemsPerSecond = "items_per_second", wallSeconds = "wall_seconds"
    }
}
