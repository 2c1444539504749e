/// What kind of failure an error is: what a command's exit code says about it (DurableCLI's `DurableExitCode`
/// maps each to its code: 1, 3, 4, 5, 6).
///
/// ```swift
/// if (error as? any HintedError)?.failureClass == .consistency { print("refused to go on (fail closed)") }
/// ```
public enum FailureClass: Sendable, Hashable {
    /// Failed; the message says why.
    case failure
    /// A consistency, accounting or checksum check failed: the library refused to go on (fail closed).
    case consistency
    /// Another process holds the lock.
    case lockHeld
    /// Nothing to do: it is already completed.
    case alreadyCompleted
    /// A guardrail stopped the work — the memory limit, a stall, too little free disk space: everything
    /// acknowledged is durable; fix the cause and run again.
    case guardrail
}

/// An error that says what to do next and what kind of failure it is. Every module's error type conforms
/// (`DurableIOError`, `DurableRunStoreError`, `DurableSQLiteError`, `DurablePostgresError`): DurableCLI's
/// `ErrorReport` prints its ``hint`` on the line after it and gives the exit code of its ``failureClass``.
///
/// ```swift
/// catch let error as any HintedError { print(error.detailedDescription, error.failureClass) }
/// ```
public protocol HintedError: Error, CustomStringConvertible {
    /// What to do next, if anything.
    var hint: String? { get }
    /// What kind of failure this is; ``FailureClass/failure`` unless the type says otherwise.
    var failureClass: FailureClass { get }
}

extension HintedError {
    public var failureClass: FailureClass { .failure }

    /// The one-line description, then the hint.
    public var detailedDescription: String {
        guard let hint else { return description }
        return description + "\n" + hint
    }
}

/// The shape the run-store errors share (`DurableRunStoreError`, `DurableSQLiteError`, `DurablePostgresError`): the
/// ``operation`` that failed and a one-line ``message``, described as `<operation> failed: <message>`.
///
/// ```swift
/// struct MyStoreError: OperationError { var operation: String; var message: String; var hint: String? }
/// print(MyStoreError(operation: "open", message: "no such host", hint: nil))   // open failed: no such host
/// ```
public protocol OperationError: HintedError {
    /// The step that failed (`ingest`, `open the run store`, `claim`, …).
    var operation: String { get }
    /// One line saying what happened (and how much).
    var message: String { get }
}

extension OperationError {
    /// One line: the operation and the message.
    public var description: String { "\(operation) failed: \(message)" }
}
