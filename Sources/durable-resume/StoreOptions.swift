import ArgumentParser
import DurablePostgres
import DurableSQLite
import Foundation

/// `--db FILE` or `--store URL` (or `DURABLE_STORE`), shared by every subcommand.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "The SQLite database (created when missing): the default, one host.")
    var db: String?

    @Option(help: ArgumentHelp(
        "A PostgreSQL store shared by workers on many hosts: postgres://user@host[:port]/database (default: DURABLE_STORE). The password may be in the URL or PGPASSWORD; it is never printed.",
        valueName: "url"))
    var store: String?

    func validate() throws {
        if db != nil && store != nil { throw ValidationError("give --db FILE or --store URL, not both") }
        if db == nil && store == nil && Environment.value("DURABLE_STORE") == nil {
            throw ValidationError("give --db FILE (SQLite) or --store postgres://user@host/db (or set DURABLE_STORE)")
        }
        // A malformed URL is a usage error (64), found before anything is opened; its message is redacted.
        if isPostgres {
            do { _ = try PostgresLocation(given) } catch let error as DurablePostgresError {
                throw ValidationError(error.detailedDescription)
            }
        }
    }

    /// The store's address as given: a file, or a URL (`--store`, then `DURABLE_STORE`).
    private var given: String { db ?? store ?? Environment.value("DURABLE_STORE")! }

    /// Whether this is a PostgreSQL store.
    var isPostgres: Bool { db == nil && PostgresLocation.isURL(given) }

    /// How messages name the store: the SQLite file, or the URL with its password redacted.
    var display: String { isPostgres ? PostgresLocation.redact(given) : given }

    /// The option that names the store again, for hints (`--db F` or `--store URL-without-password`).
    var argument: String { isPostgres ? "--store \(display)" : "--db \(given)" }

    /// Opens the store.
    func open() async throws -> OpenedStore {
        if isPostgres {
            return .postgres(try await PostgresRunStore.connect(to: try PostgresLocation(given)))
        }
        return .sqlite(try SQLiteRunStore(path: given))
    }
}

/// An open store: the embedded SQLite one (one process per run, a lock file), or PostgreSQL (many workers, leases).
enum OpenedStore {
    case sqlite(SQLiteRunStore)
    case postgres(PostgresRunStore)

    var store: any RunStore {
        switch self {
        case .sqlite(let store): return store
        case .postgres(let store): return store
        }
    }

    /// Ends the PostgreSQL connection pool.
    func close() async {
        if case .postgres(let store) = self { await store.close() }
    }
}
