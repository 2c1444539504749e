import ArgumentParser
import DurableIO
import DurableRun
import Foundation

/// `--on-exit 'CMD'` and `--on-exit-timeout`, the alert hook every long-running command takes (issue 16): `CMD`
/// runs once (`sh -c`) when the command ends — success, failure, a guardrail stop, a signal, a lock refused — with
/// the end's JSON (``ExitSummary``) on its standard input and `DURABLE_EXIT_CODE`, `DURABLE_EXIT_STATUS` and
/// `DURABLE_COMMAND` in its environment. It has its own timeout; its failure is reported on standard error and never
/// changes the command's exit code. It cannot run when the process is killed (SIGKILL, an OOM kill) or the machine
/// loses power: alert on the metrics file's or the heartbeat's timestamps for those.
///
/// ```swift
/// struct Run: AsyncParsableCommand {
///     @OptionGroup(title: "Alerts") var exitHook: ExitHookOptions
///     func run() async throws {
///         try await exitHook.around("my-tool run") { try await work() }   // the hook runs however work() ends
///     }
/// }
/// ```
public struct ExitHookOptions: ParsableArguments, Sendable {
    @Option(
        name: .customLong("on-exit"),
        help: ArgumentHelp(
            "Run this shell command once when the command ends, however it ends but a kill -9 (the end's JSON on stdin, its exit code in DURABLE_EXIT_CODE); its failure never changes the exit code.",
            valueName: "command"))
    public var command: String?

    @Option(help: "Kill the --on-exit command after this long (default 30s).", transform: DurationArgument.parse)
    public var onExitTimeout: DurationArgument = "30s"

    public init() {}

    /// Runs `body`, then ends `log` (its last lines: the exit code and summary) and runs the hook with the exit code
    /// `body` ends with (`0` when it returns, an `ExitCode`'s, the code of any other error), then returns or
    /// rethrows as `body` did.
    public func around(_ commandName: String, log: RunLog? = nil, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await finish(commandName, code: Self.exitCode(for: error), log: log)
            throw error
        }
        await finish(commandName, code: DurableExitCode.success.rawValue, log: log)
    }

    /// Ends `log`, then runs the hook, if there is one, for a command that ends with `code`; reports the hook's
    /// failure on standard error.
    public func finish(_ commandName: String, code: Int32, log: RunLog? = nil) async {
        log?.finish(commandName, code: code)
        guard let command else { return }
        let summary = ExitSummary(command: commandName, exitCode: code, recorded: ExitRecord.shared.snapshot())
        await ExitHook(command, timeout: onExitTimeout.duration).run(summary)
    }

    /// ``finish(_:code:log:)`` for a synchronous command (it blocks the calling thread, never a thread of the
    /// cooperative pool, while the hook runs).
    public func finishBlocking(_ commandName: String, code: Int32, log: RunLog? = nil) {
        log?.finish(commandName, code: code)
        guard command != nil else { return }
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await finish(commandName, code: code)
            done.signal()
        }
        done.wait()
    }

    /// The code ArgumentParser exits with for `error`.
    static func exitCode(for error: any Error) -> Int32 {
        if let exit = error as? ExitCode { return exit.rawValue }
        if error is ValidationError { return DurableExitCode.usage.rawValue }
        if error is CleanExit { return DurableExitCode.success.rawValue }
        return DurableExitCode(for: error).rawValue
    }
}

/// Runs an `--on-exit` command with an ``ExitSummary``.
struct ExitHook {
    let command: ItemCommand

    init(_ commandLine: String, timeout: Duration) {
        var command = ItemCommand(commandLine, timeout: timeout, grace: .seconds(2))
        command.replacesPlaceholder = false
        self.command = command
    }

    func run(_ summary: ExitSummary) async {
        var command = self.command
        command.environment = [
            "DURABLE_EXIT_CODE": "\(summary.exitCode)", "DURABLE_EXIT_STATUS": summary.status,
            "DURABLE_COMMAND": summary.command,
        ]
        do {
            _ = try await command.run(standardInput: summary.line())
        } catch let failure as ItemCommandFailure {
            let how = if case .couldNotStart = failure.reason { "could not be started" } else { failure.status }
            let tail = failure.standardErrorTail.isEmpty ? "" : ": \(failure.standardErrorTail)"
            ProgressRenderer.standardError(
                "warning: the --on-exit command \(how)\(tail)\n  The exit code (\(summary.exitCode)) is the command's own. Try the hook alone: echo '{}' | sh -c \(ShellWord.quoted(command.template))\n")
        } catch {
            ProgressRenderer.standardError("warning: the --on-exit command could not run: \(error)\n")
        }
    }
}
