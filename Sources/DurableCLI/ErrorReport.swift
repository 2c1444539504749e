import DurableIO

/// How a command reports an error to an operator: `error: <what happened>` and, on the next line, what to do
/// next; then the exit code that says which kind of failure it was.
///
/// ```swift
/// do { try await work() } catch {
///     throw ExitCode(ErrorReport.print(error).rawValue)
/// }
/// ```
public enum ErrorReport {
    /// Prints `error` (and its hint: `hint`, or a `HintedError`'s own) to standard error and returns its exit
    /// code (`code`, or the one ``DurableExitCode/init(for:)`` gives from the error's `failureClass`). `redact`
    /// rewrites the text before it is printed (durable-resume passes one that hides a database password that a
    /// foreign error may quote).
    @discardableResult
    public static func print(
        _ error: any Error, hint: String? = nil, code: DurableExitCode? = nil,
        redacting redact: (String) -> String = { $0 }
    ) -> DurableExitCode {
        var text = "error: \(error)\n"
        let hint = hint ?? (error as? any HintedError)?.hint
        if let hint { text += "  \(hint)\n" }
        ProgressRenderer.standardError(redact(text))
        ExitRecord.shared.record(error: redact("\(error)"), hint: hint.map(redact))
        return code ?? DurableExitCode(for: error)
    }
}
