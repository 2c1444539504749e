import DurablePostgres
import Foundation

/// Where a run store is: an SQLite database file (one host, one process per run) or a PostgreSQL server given by
/// a `postgres://` URL (many workers on many hosts).
///
/// ```swift
/// let location = try RunStoreLocation(parsing: "postgres://worker@db/runs")   // .postgres
/// let file = RunStoreLocation.sqlite(path: "runs.sqlite")
/// print(location)   // postgres://worker@db:5432/runs — a password is never printed
/// ```
public enum RunStoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// The SQLite database at this path (created when missing, unless opened read-only).
    case sqlite(path: String)
    /// The PostgreSQL store at this location.
    case postgres(PostgresLocation)

    /// A location as an operator writes it: a `postgres://` (or `postgresql://`) URL is a PostgreSQL store,
    /// anything else an SQLite file.
    ///
    /// - Parameters:
    ///   - text: the location as given (`--db`, `--store`): a `postgres://` URL or an SQLite file's path.
    ///   - environment: where `PGPASSWORD` is read when the URL has no password.
    /// - Throws: `DurablePostgresError` `invalidLocation` for a URL that cannot be used (its text redacted).
    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self = PostgresLocation.isURL(text)
            ? .postgres(try PostgresLocation(text, environment: environment)) : .sqlite(path: text)
    }

    /// Whether this is a PostgreSQL store.
    public var isPostgres: Bool {
        if case .postgres = self { return true }
        return false
    }

    /// How messages name the store: the SQLite file, or the URL with its password redacted.
    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let location): return location.redacted
        }
    }
}
