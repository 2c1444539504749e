import DurableIO
import SystemPackage

/// A command that checks a finished output before a run says complete (durable-extract `--validate`): `{}` is the
/// output's path, shell-quoted; exit 0 accepts the output, anything else fails the run with the command's status
/// and the tail of its standard error, and the staging file is kept.
///
/// ```swift
/// var options = CheckpointedRun.Options()
/// options.validation = ValidationCommand("python3 check_features.py {}").check
/// ```
public struct ValidationCommand: Sendable {
    /// The command as given, `{}` standing for the output's path.
    public let template: String
    private let command: ItemCommand

    /// A validation command; it is killed (and the run fails) after `timeout`.
    public init(_ template: String, timeout: Duration = .seconds(3600)) {
        self.template = template
        command = ItemCommand(template, timeout: timeout)
    }

    /// Runs the command on `output`.
    ///
    /// - Throws: `DurableIOError` `validationFailed` (a consistency failure: exit 3 in the CLIs) when it does not
    ///   exit 0.
    public func check(_ output: FilePath) async throws {
        do {
            _ = try await command.run(path: output)
        } catch let failure as ItemCommandFailure {
            let tail = failure.standardErrorTail.isEmpty ? "" : ": \(failure.standardErrorTail)"
            throw DurableIOError(
                .validationFailed, operation: "validation command", path: output,
                message: "`\(template)` rejected the output (\(failure.status))\(tail)",
                hint: "The output is written and the staging file kept; nothing is reported complete. Fix the cause, then rerun the same command: it checks again before saying complete.")
        }
    }
}
