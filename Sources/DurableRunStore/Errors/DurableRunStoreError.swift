import DurableIO

/// The one error type of the `DurableRunStore` module: what a run store's semantics refuse, the same for every store
/// (a source that cannot be ingested, a run that does not exist or is completed, a checksum mismatch), and a store
/// that stopped answering a worker.
///
/// A store's own failures (an SQLite file that cannot be opened, a PostgreSQL server that refuses a login) are its
/// module's error: `DurableSQLiteError`, `DurablePostgresError`.
///
/// Every error carries a ``code`` (stable, for programs), the ``operation`` that failed (`ingest`, `resume`, …), a
/// one-line ``message`` saying what happened and how much, and, where there is one, a ``hint`` telling an operator
/// what to do. Item contents are never put in error text.
///
/// ```swift
/// do {
///     try await runner.resume(runID: id, makeProcess: makeProcess)
/// } catch let error as DurableRunStoreError where error.code == .checksumMismatch {
///     print(error.detailedDescription)   // both checksums, and what to do
/// }
/// ```
public struct DurableRunStoreError: OperationError, Sendable, Equatable {
    /// A stable identifier of the kind of failure. New codes may be added in minor versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The source file cannot be read or parsed (a malformed line, a missing id column, an empty id).
        public static let invalidSource = Code("invalidSource")
        /// Two items of one source have the same id.
        public static let duplicateItemID = Code("duplicateItemID")
        /// A different file was given under a source name already ingested, without asking for a new version.
        public static let sourceChanged = Code("sourceChanged")
        /// The source file given to `resume` does not match the checksum the run was started with.
        public static let checksumMismatch = Code("checksumMismatch")
        /// No source of that name was ingested.
        public static let sourceNotFound = Code("sourceNotFound")
        /// No run has that id (or there is no resumable run for `--latest`).
        public static let runNotFound = Code("runNotFound")
        /// The run is already `completed`: there is nothing to resume.
        public static let alreadyCompleted = Code("alreadyCompleted")
        /// A stored record this program cannot read (an unknown run status).
        public static let schema = Code("schema")
        /// Invalid arguments given to the library (a batch size of 0, a source without an id column, …).
        public static let invalidInput = Code("invalidInput")
        /// The store did not answer a worker for its whole outage tolerance; the worker stopped, everything
        /// committed is kept and the run can be rejoined.
        public static let storeUnavailable = Code("storeUnavailable")
        /// More items failed than the session's `FailureBudget` allows: it stopped starting new ones, committed
        /// what finished and left the run `running`.
        public static let failureBudgetExceeded = Code("failureBudgetExceeded")
        /// An export's file, read back, does not hold as many records as the store holds results (fail closed).
        public static let exportMismatch = Code("exportMismatch")
    }

    /// What kind of failure this is.
    public var code: Code
    /// The step that failed, e.g. `ingest`, `start`, `resume`.
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

    /// An already completed run is `FailureClass.alreadyCompleted`; a checksum mismatch or a changed source
    /// `FailureClass.consistency` (fail closed).
    public var failureClass: FailureClass {
        switch code {
        case .alreadyCompleted: return .alreadyCompleted
        case .checksumMismatch, .sourceChanged, .exportMismatch: return .consistency
        default: return .failure
        }
    }
}
