import DurableIO

/// The exit codes every DurableIO command uses, documented in each `--help` and the README.
///
/// ```swift
/// do { try run() } catch { throw ExitCode(DurableExitCode(for: error).rawValue) }
/// ```
public enum DurableExitCode: Int32, Sendable, CaseIterable {
    /// Done, and verified.
    case success = 0
    /// Failed; the message says why.
    case failure = 1
    /// A consistency or accounting check failed: the command refused to go on (fail closed).
    case consistency = 3
    /// Another process holds the lock.
    case lockHeld = 4
    /// Nothing to do: already completed (resume of a completed run or backfill).
    case alreadyCompleted = 5
    /// Stopped by a guardrail (memory limit, stall, low disk space); everything acknowledged is durable.
    case guardrail = 6
    /// Usage error (swift-argument-parser's own code).
    case usage = 64
    /// Interrupted by SIGHUP.
    case hangup = 129
    /// Interrupted by SIGINT (Ctrl-C).
    case interrupted = 130
    /// Interrupted by SIGTERM.
    case terminated = 143

    /// The code for an error, from its `HintedError.failureClass`: consistency, accounting and checksum failures
    /// are 3, a held lock 4, an already completed run 5, a guardrail stop 6, anything else (and an error that is no
    /// `HintedError`) 1.
    public init(for error: any Error) {
        switch (error as? any HintedError)?.failureClass ?? .failure {
        case .failure: self = .failure
        case .consistency: self = .consistency
        case .lockHeld: self = .lockHeld
        case .alreadyCompleted: self = .alreadyCompleted
        case .guardrail: self = .guardrail
        }
    }

    /// The code's name, for scripts (an `--on-exit` hook's `DURABLE_EXIT_STATUS`): `success`, `failure`,
    /// `consistency`, `lock_held`, `already_completed`, `guardrail`, `usage`, `hangup`, `interrupted`, `terminated`.
    public var name: String {
        switch self {
        case .success: "success"
        case .failure: "failure"
        case .consistency: "consistency"
        case .lockHeld: "lock_held"
        case .alreadyCompleted: "already_completed"
        case .guardrail: "guardrail"
        case .usage: "usage"
        case .hangup: "hangup"
        case .interrupted: "interrupted"
        case .terminated: "terminated"
        }
    }

    /// The table for `--help`.
    public static let helpText = """
        Exit codes:
          0    success (verified)
          1    failure
          3    consistency or accounting failure: refused to go on (fail closed)
          4    the lock is held by another process
          5    nothing to do: already completed
          6    stopped by a guardrail (memory limit, stall, low disk space): everything
               acknowledged is durable; fix the cause and rerun
          64   usage error
          129  interrupted by SIGHUP (everything acknowledged is durable)
          130  interrupted by SIGINT (Ctrl-C)
          143  interrupted by SIGTERM
        """
}
