import ArgumentParser
import DurableCLI
import DurableIO
import DurablePostgres
import DurableSQLite
import DurableStores
import Foundation

/// `--db FILE` or `--store URL` (or `DURABLE_STORE`), shared by every subcommand.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "The SQLite database (created when missing): the default, one host.")
    var db: String?

    @Option(help: ArgumentHelp(
        "A PostgreSQL store shared by workers on many hosts: postgres://user@host[:port]/database[?schema=NAME&timeout=SECONDS] (default: DURABLE_STORE; timeout, default 15, is how long a call may wait for a stalled server). The password may be in the URL or PGPASSWORD; it is never printed.",
        valueName: "url"))
    var store: String?

    func validate() throws {
        if db != nil && store != nil { throw ValidationError("give --db FILE or --store URL, not both") }
        if db == nil && store == nil && Environment.value("DURABLE_STORE") == nil {
            throw ValidationError("give --db FILE (SQLite) or --store postgres://user@host/db (or set DURABLE_STORE)")
        }
        // A malformed URL is a usage error (64), found before anything is opened; its message is redacted.
        do { _ = try location() } catch let error as DurablePostgresError {
            throw ValidationError(error.detailedDescription)
        }
    }

    /// The store's address as given: a file, or a URL (`--store`, then `DURABLE_STORE`).
    private var given: String { db ?? store ?? Environment.value("DURABLE_STORE")! }

    /// Where the store is: `--db` is always a file; `--store` (or `DURABLE_STORE`) a URL, or else a file.
    func location() throws -> RunStoreLocation {
        if let db { return .sqlite(path: db) }
        return try RunStoreLocation(parsing: given)
    }

    /// Whether this is a PostgreSQL store.
    var isPostgres: Bool { db == nil && PostgresLocation.isURL(given) }

    /// The SQLite database file, whose disk `--min-free-disk` watches; `nil` for a PostgreSQL store.
    var databaseFile: FilePath? { isPostgres ? nil : FilePath(given) }

    /// How messages name the store: the SQLite file, or the URL as given with its password redacted.
    var display: String { isPostgres ? PostgresLocation.redact(given) : given }

    /// The option that names the store again, for hints a user pastes: `--db F` (shell-quoted where it must be), or
    /// `--store URL` without its password (redacting it to `***` would paste a wrong one; PGPASSWORD supplies it).
    var argument: String {
        isPostgres ? "--store \(ShellWord.quoted(Self.withoutPassword(given)))" : "--db \(ShellWord.quoted(given))"
    }

    /// `postgres://user:secret@host/db` → `postgres://user@host/db`.
    static func withoutPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return url }
        return String(url[..<scheme.upperBound] + authority[..<colon] + authority[at...] + rest[authorityEnd...])
    }

    /// Opens the store (see ``OpenedRunStore/open(_:readOnly:)``).
    func open(readOnly: Bool = false) async throws -> OpenedRunStore {
        try await OpenedRunStore.open(try location(), readOnly: readOnly)
    }

    /// Opens the store for a session, runs `body` (whose `Session.run` closes the store, checking the close) and
    /// throws its exit code. After a failure the store is closed and the error printed with its exit code; a
    /// usage error stays one (64). `before` runs first (the `--backup`), and the `--on-exit` hook last, with that
    /// code.
    func runSession(
        _ command: String, options: SessionOptions, json: Bool, before: () async throws -> Void = {},
        _ body: (OpenedRunStore, Session) async throws -> ExitCode
    ) async throws -> Never {
        let log = options.runLog.open()
        let session = Session(storeArgument: argument, options: options, databaseFile: databaseFile, json: json, log: log)
        try await options.exitHook.around(command, log: log) {
            try await before()  // --backup: before the store is opened, and an ending the hook reports too
            try await runSession { try await body($0, session) }
        }
        fatalError("runSession always throws its exit code")
    }

    private func runSession(_ body: (OpenedRunStore) async throws -> ExitCode) async throws -> Never {
        let exit: ExitCode
        do {
            let opened = try await open()
            do {
                exit = try await body(opened)
            } catch {
                await opened.abandon()
                throw error
            }
        } catch let error as ValidationError {
            throw error
        } catch { throw fail(error, store: self) }
        throw exit
    }

    /// Opens the store, runs `body`, and closes it (see ``OpenedRunStore/using(_:readOnly:_:)``).
    func using<T>(readOnly: Bool = false, _ body: (OpenedRunStore) async throws -> T) async throws -> T {
        try await OpenedRunStore.using(try location(), readOnly: readOnly, body)
    }
}

extension DatabaseOptions {
    /// With `--backup`, copies the SQLite database (``DatabaseBackup``) before anything else, its disk preflight
    /// keeping `--min-free-disk` free, and notes where the copy went. `onlyIfExists`: a database not created yet
    /// is skipped with a note (`start` on a new database).
    ///
    /// - Throws: the backup's error, printed with its exit code (6 for the disk preflight).
    func backUp(_ options: BackupOptions, reserve: ResourceLimitOptions, onlyIfExists: Bool = false) async throws {
        guard options.isRequested, let file = databaseFile else { return }
        if onlyIfExists && !FileManager.default.fileExists(atPath: file.string) {
            note("backup: \(file) does not exist yet: nothing to back up")
            return
        }
        do {
            let backupOptions = DatabaseBackup.Options(
                directory: options.backupDir.map { FilePath($0) }, keep: options.keepBackups, reserve: reserve.minFreeDisk.bytes)
            // Seconds of copying and fsync: on a thread of its own, not one of the cooperative pool's.
            let result = try await DedicatedThread.run("backup") { try DatabaseBackup.make(of: file, options: backupOptions) }
            note(result.description)
        } catch { throw fail(error) }
    }
}
