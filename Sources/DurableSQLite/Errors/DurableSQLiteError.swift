import DurableIO

/// The one error type of the `DurableSQLite` module (the SQLite database and backfills): what failed, for which
/// database or backfill, why, and what to do next. What the run store's semantics refuse (a completed run, a checksum
/// mismatch, …) is a `DurableRunStoreError`, the same for every store.
///
/// Every error carries a ``code`` (stable, for programs), the ``operation`` that failed (`open the run store`, …), a
/// one-line ``message`` saying what happened and how much, and, where there is one, a ``hint`` telling an operator
/// what to do. Item contents are never put in error text.
///
/// ```swift
/// do {
///     let store = try SQLiteRunStore(readingExisting: "runs.sqlite")
/// } catch let error as DurableSQLiteError where error.code == .databaseUnavailable {
///     print(error.detailedDescription)   // "no such database: runs.sqlite", and what to do
/// }
/// ```
public struct DurableSQLiteError: OperationError, Sendable, Equatable {
    /// A stable identifier of the kind of failure. New codes may be added in minor versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The database's schema is newer than this program, or a migration failed.
        public static let schema = Code("schema")
        /// Invalid arguments given to the library (an unknown schema version, …).
        public static let invalidInput = Code("invalidInput")
        /// A backfill's definition or options cannot be used; nothing was written.
        public static let invalidDefinition = Code("invalidDefinition")
        /// No backfill of that name is recorded in the database.
        public static let backfillNotFound = Code("backfillNotFound")
        /// `run` with a backfill name already recorded (and not completed): resume it instead.
        public static let backfillExists = Code("backfillExists")
        /// A query failed while a backfill ran; recorded as `failed` before the error was thrown.
        public static let queryFailed = Code("queryFailed")
        /// The database could not be opened or read: it does not exist (for a command that only reads), is not an
        /// SQLite database, cannot be opened, or has no schema yet.
        public static let databaseUnavailable = Code("databaseUnavailable")
        /// A read, write or sync of the database failed (a disk I/O error, the disk is full): what was being
        /// committed is not acknowledged, and it is not retried.
        public static let ioFailed = Code("ioFailed")
        /// A crash left the database needing recovery (a hot rollback journal) that a read-only command cannot do.
        public static let needsRecovery = Code("needsRecovery")
        /// `run` with a backfill name recorded with another definition (`--table`, `--key`, `--set`, `--where`).
        public static let definitionChanged = Code("definitionChanged")
    }

    /// What kind of failure this is.
    public var code: Code
    /// The step that failed, e.g. `open the run store`, `commit results`, `run backfill`.
    public var operation: String
    /// One line saying what happened (and how much).
    public var message: String
    /// What to do next, if there is something to do.
    public var hint: String?

    /// Creates an error.
    public init(_ code: Code, operation: String, message: String, hint: String? = nil) {
        self.code = code
        self.operation = operation
        self.message = message
        self.hint = hint
    }
}
