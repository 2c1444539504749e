import DurablePostgres
import DurableRunStore
import DurableSQLite

/// An open run store, by what it lets processes do: a locked store (one process per run holding its lock: the
/// embedded SQLite one) or a claiming store (many workers claiming items under leases: PostgreSQL).
/// ``open(_:readOnly:)`` opens one from a ``RunStoreLocation``; ``start(source:name:configuration:options:announce:process:)``
/// and ``resume(runID:request:options:announce:makeProcess:)`` run it with the runner that kind of store takes
/// (`ResumableRunner` over a locked store, `LeasedWorker` over a claiming one). Only ``open(_:readOnly:)`` names
/// the concrete stores: a new store is one more case there (and in ``RunStoreLocation``).
///
/// ```swift
/// let opened = try await OpenedRunStore.open(try RunStoreLocation(parsing: "runs.sqlite"))
/// let outcome = try await opened.resume(runID: id, options: .init(jobs: 4)) { configuration in
///     { item in try await process(item, configuration) }
/// }
/// try await opened.close()   // its syncs must succeed before anything reports success
/// ```
public enum OpenedRunStore: Sendable {
    /// A store where one process at a time works on a run, holding its lock (`SQLiteRunStore`).
    case locked(any LockedRunStore)
    /// A store where many workers claim a run's items under leases (`PostgresRunStore`).
    case claiming(any ClaimingRunStore)

    /// Opens the store at `location`.
    ///
    /// - Parameters:
    ///   - location: where the store is: an SQLite file or a PostgreSQL URL.
    ///   - readOnly: a SQLite database that does not exist is "no such database", never created, and its
    ///     schema is never migrated (for `status` and `list`).
    /// - Throws: `DurableSQLiteError` or `DurablePostgresError`: the store cannot be opened.
    public static func open(_ location: RunStoreLocation, readOnly: Bool = false) async throws -> OpenedRunStore {
        switch location {
        case .sqlite(let path):
            return .locked(readOnly ? try SQLiteRunStore(readingExisting: path) : try SQLiteRunStore(path: path))
        case .postgres(let location):
            return .claiming(try await PostgresRunStore.connect(to: location))
        }
    }

    /// Opens the store, runs `body`, and closes the store — checking the close, whose syncs must succeed before
    /// anything reports success. When `body` throws, the store is closed too and `body`'s error is thrown.
    public static func using<T>(
        _ location: RunStoreLocation, readOnly: Bool = false, _ body: (OpenedRunStore) async throws -> T
    ) async throws -> T {
        let opened = try await open(location, readOnly: readOnly)
        let result: T
        do {
            result = try await body(opened)
        } catch {
            await opened.abandon()
            throw error
        }
        try await opened.close()
        return result
    }

    /// The store, as the protocol every store implements.
    public var store: any RunStore {
        switch self {
        case .locked(let store): return store
        case .claiming(let store): return store
        }
    }

    /// Closes the store (`RunStore.close()`): the SQLite store checkpoints and closes its connections (throwing
    /// when a sync or the close failed); the PostgreSQL connection pool ends. Idempotent.
    public func close() async throws {
        try await store.close()
    }

    /// Closes the store after a failure, whose error is the one to report.
    public func abandon() async {
        try? await close()
    }
}
