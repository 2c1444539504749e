import DurableIO
import Foundation

/// Where runs live: source items, runs, results and progress. `SQLiteRunStore` is the embedded implementation;
/// `PostgresRunStore` (target `DurablePostgres`) the server-backed one — every method is `async`, takes and
/// returns plain values, and names no SQL type.
///
/// The semantics every implementation keeps:
/// - ingest stores a source once per checksum; a different file under the same name is a new version only when
///   asked for;
/// - a run is pinned to one source version and reads its items from the store only;
/// - ``commit(_:forRun:progress:)`` upserts results on `(run, item)` and updates the run's counts, progress time
///   and ETA **in the same transaction**: when it returns, the batch and the progress are durable together;
/// - who may work on a run is the refinement's business: a ``LockedRunStore`` (SQLite) lets one process at a time
///   hold the run's lock; a ``ClaimingRunStore`` (PostgreSQL) lets many workers claim items under leases.
///
/// ```swift
/// let store: any RunStore = try SQLiteRunStore(path: "runs.sqlite")
/// let source = try await store.ingest(SourceFile(path: "items.csv", idColumns: ["id"]), allowNewVersion: false).source
/// let run = try await store.createRun(id: UUID().uuidString.lowercased(), name: nil, source: source,
///                                     configuration: RunConfiguration(command: "cat"), startedAt: Date())
/// let left = try await store.remainingItems(forRun: run.id, selection: .missingOnly, after: nil, limit: 1_000)
/// ```
public protocol RunStore: Sendable {
    /// Ingests `source` unless a version with the same checksum is stored (then it is skipped).
    ///
    /// - Parameters:
    ///   - source: the file to read and store (its path and id columns).
    ///   - allowNewVersion: store a different file under an existing name as its next version.
    /// - Throws: ``DurableRunStoreError`` `sourceChanged` for a different file under an existing name without
    ///   `allowNewVersion`; `invalidSource` or `duplicateItemID` for a file that cannot be ingested (nothing is stored).
    func ingest(_ source: SourceFile, allowNewVersion: Bool) async throws -> IngestReport

    /// The versions of the source `name`, oldest first.
    func sourceVersions(named name: String) async throws -> [SourceVersion]

    /// Creates a run in status `running`, pinned to `source`.
    func createRun(
        id: String, name: String?, source: SourceVersion, configuration: RunConfiguration, startedAt: Date
    ) async throws -> RunRecord

    /// The run with this id, or `nil`.
    func run(id: String) async throws -> RunRecord?

    /// Every run, newest first.
    func runs() async throws -> [RunRecord]

    /// The items still to do, in source order, a page at a time: at most `limit` items after position `after` (from
    /// the start when `nil`) without a result (``WorkSelection/missingOnly``) or with an error result
    /// (``WorkSelection/retryErrorsOnly``). Ask for the next page after the last item's position; fewer than
    /// `limit` items means the end. A run of ten million items is planned in bounded memory this way
    /// (``remainingItems(forRun:selection:)`` reads every page into one array).
    func remainingItems(forRun id: String, selection: WorkSelection, after position: Int?, limit: Int) async throws -> [SourceItem]

    /// Every recorded result of the run, in source order, read in one snapshot with the run itself (so the run's
    /// counts and the results agree, even while a session commits): what `durable-resume export` writes.
    ///
    /// - Throws: ``DurableRunStoreError`` `runNotFound` for an unknown id.
    func results(ofRun id: String) async throws -> RunResults

    /// Upserts `results` and updates the run's counts, progress time and ETA in one transaction.
    ///
    /// - Returns: the run as it is after the commit.
    func commit(_ results: [ItemResult], forRun id: String, progress: ProgressUpdate) async throws -> RunRecord

    /// Sets a `failed` (or interrupted `running`) run back to `running` for a resume, clearing its finish time.
    func markResumed(runID id: String) async throws -> RunRecord

    /// Finalizes the run: `completed` when every item has a successful result, else `failed`; sets the finish time
    /// and the final metrics computed from the results and `session`.
    func finalize(runID id: String, session: SessionFigures, at: Date) async throws -> RunRecord

    /// The run's state for operators, asked now: `running` splits into ``RunState/live`` (someone works on it)
    /// and ``RunState/interrupted`` (nobody does: its process died).
    func currentState(of run: RunRecord) async throws -> RunState

    /// Closes the store, checking what closing does (the SQLite store checkpoints its WAL and reports a failed
    /// sync): call it before anything reports success. The store cannot be used afterwards; closing it again does
    /// nothing.
    func close() async throws
}

/// The progress a commit records beside its results.
///
/// ```swift
/// let update = ProgressUpdate(at: Date(), etaSeconds: tracker.snapshot().etaSeconds)
/// ```
public struct ProgressUpdate: Sendable, Equatable {
    /// The time of the commit.
    public var at: Date
    /// Seconds to go at the recent rate, when known.
    public var etaSeconds: Double?

    /// An update.
    public init(at: Date = Date(), etaSeconds: Double?) {
        self.at = at
        self.etaSeconds = etaSeconds
    }
}

/// What the session that finalizes a run did, for the final metrics.
///
/// ```swift
/// let session = SessionFigures(items: 12_000, seconds: 3_412.5)
/// ```
public struct SessionFigures: Sendable, Equatable {
    /// Items processed in this session.
    public var items: Int
    /// Its wall-clock seconds.
    public var seconds: Double

    /// The figures.
    public init(items: Int, seconds: Double) {
        self.items = items
        self.seconds = seconds
    }
}

