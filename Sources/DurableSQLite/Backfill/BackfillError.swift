/// Why a backfill could not start, go on or be read: what failed, for which backfill in which database, and what
/// to do next.
///
/// A failure while the backfill runs — in any query, including those before the first batch — is recorded as
/// ``BackfillStatus/failed`` with the message before this error is thrown (code `queryFailed`, or
/// `invalidDefinition` when the database shows the definition cannot work); ``record`` holds the recorded state.
/// Row contents never appear in the text.
///
/// ```swift
/// do {
///     try Backfill.resume(named: "tx_last_seen_backfill_v1", in: "app.db")
/// } catch let error as BackfillError {
///     print(error.detailedDescription)   // the query's error, the cursor, and the command to resume
/// }
/// ```
public struct BackfillError: Error, Sendable, CustomStringConvertible {
    /// A stable identifier of the kind of failure. New codes may be added in minor versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The definition or the options cannot be used; nothing was written.
        public static let invalidDefinition = Code("invalidDefinition")
        /// No backfill of that name is recorded in the database.
        public static let notFound = Code("notFound")
        /// `run` with a name already recorded (and not completed): resume it instead.
        public static let alreadyExists = Code("alreadyExists")
        /// A query failed while the backfill ran; recorded as `failed`.
        public static let queryFailed = Code("queryFailed")
        /// The database could not be opened or read.
        public static let databaseUnavailable = Code("databaseUnavailable")
    }

    /// What kind of failure this is.
    public var code: Code
    /// The step that failed: `snapshot the bound`, `batch 17`, `record progress`, ….
    public var operation: String
    /// The backfill's name, when known.
    public var backfill: String?
    /// The database file.
    public var database: String
    /// One line saying what happened (and how much was done).
    public var message: String
    /// What to do next.
    public var hint: String?
    /// The state recorded in the database after the failure, when it could be recorded.
    public var record: BackfillRecord?

    /// Creates an error.
    public init(
        _ code: Code, operation: String, backfill: String?, database: String, message: String, hint: String? = nil,
        record: BackfillRecord? = nil
    ) {
        self.code = code
        self.operation = operation
        self.backfill = backfill
        self.database = database
        self.message = message
        self.hint = hint
        self.record = record
    }

    /// One line: the backfill, the step, the database and the message.
    public var description: String {
        "backfill \(backfill.map { "'\($0)' " } ?? ""): \(operation) failed in \(database): \(message)"
    }

    /// The one-line description, then what to do.
    public var detailedDescription: String { hint.map { description + "\n" + $0 } ?? description }
}
