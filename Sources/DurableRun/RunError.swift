import DurableIO

/// The error type of the `DurableRun` module: what stopped a run, and what to do next. A `HintedError`, like
/// every module's error: DurableCLI's `ErrorReport` prints its hint and gives its exit code.
///
/// ```swift
/// do { _ = try await run.run(inputs: keys, extract: extract) }
/// catch let error as RunError where error.code == .failureBudgetExceeded { print(error.hint ?? "") }
/// ```
public struct RunError: HintedError, Sendable, Equatable {
    /// A stable identifier of the kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// More items failed than the failure budget allows.
        public static let failureBudgetExceeded = Code(name: "failureBudgetExceeded")
        /// A `StopRequest` stopped the run before it finished.
        public static let interrupted = Code(name: "interrupted")
        /// The run was given no inputs, or a glob matched none of the files (see ``ExtractionInputs/requireSome()``).
        public static let noInputs = Code(name: "noInputs")
        /// A read-only command was pointed at an output that has no state: nothing has run for it (a typo?).
        public static let nothingHasRun = Code(name: "nothingHasRun")
    }

    /// Why the run stopped, when ``code`` is ``Code/interrupted``.
    public var stopReason: StopRequest.Reason?

    /// What kind of failure.
    public var code: Code
    /// What happened, with the figures.
    public var message: String
    /// What to do next.
    public var hint: String?

    init(_ code: Code, message: String, hint: String?, stopReason: StopRequest.Reason? = nil) {
        self.code = code
        self.stopReason = stopReason
        self.message = message
        self.hint = hint
    }

    public var description: String { code == .failureBudgetExceeded ? "run stopped: \(message)" : message }
}
