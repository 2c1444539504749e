import DurableIO
import Foundation
import Synchronization

/// What an `--on-exit` hook reads on its standard input: one JSON object, with snake_case keys as every `--json`
/// output (see `Documentation/JSON.md`).
///
/// ```json
/// {"command":"durable-extract run","ended_at":"2026-12-02T03:12:09Z","error":null,"exit_code":0,
///  "schema":1,"status":"success","summary":{"status":"completed","completed":152265,…}}
/// ```
///
/// `summary` is the object the command's `--json` prints (with its own `schema`), or `null` when the command ended
/// before it had one (a lock refused, a store that could not be opened); `error` is `{"message":…,"hint":…}` as
/// printed on standard error, or `null`.
///
/// ```swift
/// let line = try ExitSummary(command: "durable-backfill run", exitCode: 6, recorded: .init()).line()
/// ```
public struct ExitSummary: Sendable {
    /// The version of this object's keys.
    public static let schema = 1
    /// The command, e.g. `durable-resume start`.
    public var command: String
    /// The process's exit code.
    public var exitCode: Int32
    /// What the command recorded: its summary and its last error.
    public var recorded: ExitRecord.Recorded
    /// When the command ended.
    public var endedAt = Date()

    public init(command: String, exitCode: Int32, recorded: ExitRecord.Recorded) {
        self.command = command
        self.exitCode = exitCode
        self.recorded = recorded
    }

    /// The exit code's name in the exit-code table: `success`, `failure`, `consistency`, `lock_held`,
    /// `already_completed`, `guardrail`, `usage`, `hangup`, `interrupted`, `terminated` (`exit N` for another).
    public var status: String { DurableExitCode(rawValue: exitCode)?.name ?? "exit \(exitCode)" }

    /// The object as one line of JSON, with a newline.
    public func line() throws -> [UInt8] {
        let summary: Any = try recorded.summary.map { try JSONSerialization.jsonObject(with: Data($0)) } ?? NSNull()
        let error: Any = recorded.error.map { ["message": $0.message, "hint": $0.hint ?? NSNull()] as [String: Any] } ?? NSNull()
        let object: [String: Any] = [
            "schema": Self.schema, "command": command, "exit_code": Int(exitCode), "status": status,
            "ended_at": endedAt.formatted(.iso8601), "summary": summary, "error": error,
        ]
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) + [0x0A]
    }
}

/// The process-wide record of how a command is ending, for its `--on-exit` hook: the summary it printed (or would
/// have printed with `--json`, through ``JSONOutput/summary(_:schema:printing:)``) and the last error
/// ``ErrorReport`` printed.
///
/// ```swift
/// try JSONOutput.summary(report, schema: 2, printing: json)   // recorded for the hook, printed with --json
/// ExitRecord.shared.snapshot().summary                          // its JSON line
/// ```
public final class ExitRecord: Sendable {
    /// What was recorded.
    public struct Recorded: Sendable {
        /// The summary's JSON line.
        public var summary: [UInt8]?
        /// The last error printed, as printed (redacted).
        public var error: (message: String, hint: String?)?

        public init(summary: [UInt8]? = nil, error: (message: String, hint: String?)? = nil) {
            self.summary = summary
            self.error = error
        }
    }

    /// The one record of this process.
    public static let shared = ExitRecord()

    private let state = Mutex(Recorded())

    /// Records the command's summary line (the last one wins).
    public func record(summary line: [UInt8]) { state.withLock { $0.summary = line } }

    /// Records an error as it was printed (the last one wins).
    public func record(error message: String, hint: String?) { state.withLock { $0.error = (message, hint) } }

    /// What is recorded now.
    public func snapshot() -> Recorded { state.withLock { $0 } }
}
