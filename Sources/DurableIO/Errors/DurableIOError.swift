import SystemPackage

/// The one error type of the `DurableIO` module: what failed, where, why, and what to do next.
///
/// Every error carries a ``code`` (stable, for programs), the ``operation`` that failed (the step: `write`,
/// `fsync`, `rename`, `directory fsync`, …), the ``path`` involved, the ``errno`` when a system call failed, a
/// one-line ``message`` and, where there is one, a ``hint`` telling an operator how to recover. Row contents are
/// never put in error text.
///
/// ```swift
/// do {
///     try AtomicFile.write(bytes, to: "out.jsonl")
/// } catch let error as DurableIOError where error.code == .syncFailed {
///     print(error.detailedDescription)   // step, path, errno and what it means
/// }
/// ```
public struct DurableIOError: HintedError, Sendable, Equatable {
    /// A stable identifier of the kind of failure. New codes may be added in minor versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A system call failed (see ``DurableIOError/errno``).
        public static let systemCall = Code("systemCall")
        /// `fsync` / `fdatasync` failed: the data it covered may be lost. Never retried into a success.
        public static let syncFailed = Code("syncFailed")
        /// The directory cannot be fsync'd on this file system (`EINVAL`): a rename or create may not be durable.
        public static let directorySyncUnsupported = Code("directorySyncUnsupported")
        /// Another process has the ledger open for writing.
        public static let ledgerLocked = Code("ledgerLocked")
        /// An earlier append failed; the ledger handle refuses further work until it is reopened.
        public static let ledgerPoisoned = Code("ledgerPoisoned")
        /// A complete line of a ledger or staging file is not a valid entry (strict mode).
        public static let malformedLine = Code("malformedLine")
        /// Keys that should be present are missing, or counts disagree: the job refuses to go on (fail closed).
        public static let accountingMismatch = Code("accountingMismatch")
        /// The caller passed something unusable (a row that is not a JSON object, a key clash, …).
        public static let invalidInput = Code("invalidInput")
        /// Another process (or another handle) holds the lock.
        public static let lockHeld = Code("lockHeld")
        /// This handle already holds the lock.
        public static let lockAlreadyHeld = Code("lockAlreadyHeld")
        /// `release` on a handle that does not hold the lock.
        public static let lockNotHeld = Code("lockNotHeld")
        /// The lock was taken from this holder (its lock file deleted, replaced or reclaimed) while it worked.
        public static let lockCompromised = Code("lockCompromised")
        /// The job's memory (resident + swap) passed its limit.
        public static let memoryLimitExceeded = Code("memoryLimitExceeded")
        /// No progress was marked for longer than the stall timeout.
        public static let stalled = Code("stalled")
        /// Less free disk space than the job needs.
        public static let insufficientDiskSpace = Code("insufficientDiskSpace")
        /// The output has fewer rows than required.
        public static let validationFailed = Code("validationFailed")
        /// The ledger handle was closed.
        public static let closed = Code("closed")
    }

    /// What kind of failure this is.
    public var code: Code
    /// The step that failed, e.g. `fsync`, `rename`, `directory fsync`, `append`.
    public var operation: String
    /// The file or directory involved, if any.
    public var path: FilePath?
    /// The system error, if a system call failed.
    public var errno: Errno?
    /// One line saying what happened (and how much).
    public var message: String
    /// What to do next, if there is something to do.
    public var hint: String?
    /// The figures of an accounting failure, when ``code`` is ``Code/accountingMismatch``.
    public var accounting: AccountingFailure?
    /// The error this one wraps, when another library's error caused it (a CSV parser's, an encoder's), kept as it
    /// was thrown so a caller can still match on it. ``message`` says it in words.
    public var cause: (any Error)?

    /// Creates an error (the package's own code throws these; users read them).
    package init(
        _ code: Code, operation: String, path: FilePath? = nil, errno: Errno? = nil, message: String,
        hint: String? = nil, accounting: AccountingFailure? = nil, cause: (any Error)? = nil
    ) {
        self.code = code
        self.operation = operation
        self.path = path
        self.errno = errno
        self.message = message
        self.hint = hint
        self.accounting = accounting
        self.cause = cause
    }

    /// Equal when every field is; two causes are compared by their descriptions (an `Error` need not be
    /// `Equatable`).
    public static func == (a: DurableIOError, b: DurableIOError) -> Bool {
        a.code == b.code && a.operation == b.operation && a.path == b.path && a.errno == b.errno
            && a.message == b.message && a.hint == b.hint && a.accounting == b.accounting
            && a.cause.map { "\($0)" } == b.cause.map { "\($0)" }
    }

    /// One line: the operation, the path, the message and the errno.
    public var description: String {
        var text = "\(operation) failed"
        if let path { text += " for \(path)" }
        text += ": \(message)"
        if let errno { text += " (\(Self.errnoName(errno)): \(errno))" }
        return text
    }

    /// Accounting and consistency failures are ``FailureClass/consistency``; a held lock (or ledger) is
    /// ``FailureClass/lockHeld``; the memory limit, a stall and too little disk space are ``FailureClass/guardrail``.
    public var failureClass: FailureClass {
        switch code {
        case .accountingMismatch, .malformedLine, .validationFailed: return .consistency
        case .lockHeld, .ledgerLocked: return .lockHeld
        case .memoryLimitExceeded, .stalled, .insufficientDiskSpace: return .guardrail
        default: return .failure
        }
    }

    /// `ENOSPC`, `EIO`, …: the symbolic name of an errno, for messages an operator can search for.
    static func errnoName(_ errno: Errno) -> String {
        switch errno {
        case .noSpace: return "ENOSPC"
        case .ioError: return "EIO"
        case .invalidArgument: return "EINVAL"
        case .permissionDenied: return "EACCES"
        case .noSuchFileOrDirectory: return "ENOENT"
        case .fileExists: return "EEXIST"
        case .wouldBlock: return "EWOULDBLOCK"
        case .interrupted: return "EINTR"
        case .readOnlyFileSystem: return "EROFS"
        case .resourceBusy: return "EBUSY"
        case .notSupported: return "ENOTSUP"
        case .badFileDescriptor: return "EBADF"
        case .diskQuotaExceeded: return "EDQUOT"
        case .notPermitted: return "EPERM"
        case .isDirectory: return "EISDIR"
        case .notDirectory: return "ENOTDIR"
        case .tooManyOpenFiles: return "EMFILE"
        case .tooManyOpenFilesInSystem: return "ENFILE"
        case .improperLink: return "EXDEV"
        case .tooManySymbolicLinkLevels: return "ELOOP"
        case .fileNameTooLong: return "ENAMETOOLONG"
        case .fileTooLarge: return "EFBIG"
        case .directoryNotEmpty: return "ENOTEMPTY"
        case .noLocks: return "ENOLCK"
        default: return "errno \(errno.rawValue)"
        }
    }
}

/// The figures of a failed accounting check.
///
/// ```swift
/// if let figures = error.accounting { print(figures.missingCount, figures.sampleMissingKeys) }
/// ```
public struct AccountingFailure: Sendable, Equatable {
    /// How many rows (or keys) there should be.
    public var expected: Int
    /// How many there are.
    public var actual: Int
    /// Keys that should be present and are not.
    public var missingCount: Int
    /// The first few missing keys, in the ledger's order.
    public var sampleMissingKeys: [RecordKey]
    /// Keys found more than once.
    public var duplicateCount: Int

    /// Creates the figures.
    package init(expected: Int, actual: Int, missingCount: Int, sampleMissingKeys: [RecordKey], duplicateCount: Int) {
        self.expected = expected
        self.actual = actual
        self.missingCount = missingCount
        self.sampleMissingKeys = sampleMissingKeys
        self.duplicateCount = duplicateCount
    }
}
