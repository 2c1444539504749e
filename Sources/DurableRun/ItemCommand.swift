import DurableIO
import Foundation
import Subprocess
import Synchronization

/// One item's command: `/bin/sh -c` with `{}` in the template replaced by the item's argument, shell-quoted. Its
/// standard output is the row; a non-zero exit, a signal or a timeout is a failure carrying the exit status and
/// the tail of standard error.
///
/// Each command runs in a process group of its own, so a timeout (or a cancelled run) ends the whole tree:
/// SIGTERM to the group, a grace period, then SIGKILL. Both pipes are drained while the command runs — never after
/// it exits, which deadlocks a child that prints more than a pipe buffer. Runs through swift-subprocess.
///
/// ```swift
/// let command = ItemCommand("ffprobe -v error -print_format json -show_format {}", timeout: .seconds(60))
/// let row = try await command.run(argument: "/data/clip_000017.mp4")   // bytes of the JSON printed
/// ```
public struct ItemCommand: Sendable {
    /// The command line, with `{}` where the argument goes.
    public var template: String
    /// How long one item may run; `nil` for no limit.
    public var timeout: Duration?
    /// Between SIGTERM and SIGKILL.
    public var grace: Duration
    /// Most bytes of standard output kept (a larger output is a failure, not a truncated row).
    public var maxOutputBytes: Int

    /// A command from a template.
    public init(_ template: String, timeout: Duration? = nil, grace: Duration = .seconds(5), maxOutputBytes: Int = 16 << 20) {
        self.template = template
        self.timeout = timeout
        self.grace = grace
        self.maxOutputBytes = maxOutputBytes
    }

    /// The shell command line for `argument`.
    public func commandLine(for argument: String) -> String {
        template.replacingOccurrences(of: "{}", with: Self.shellQuoted(argument))
    }

    /// `it's` → `'it'\''s'`: safe inside `sh -c` whatever the argument holds.
    public static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// Runs the command for `argument` and returns its standard output.
    ///
    /// - Parameters:
    ///   - argument: replaces `{}` in the template, shell-quoted.
    ///   - standardInput: bytes the command reads on its standard input (for example the item as JSON); `nil`
    ///     gives it no input.
    /// - Throws: ``ItemCommandFailure`` for a non-zero exit, a signal, a timeout or too much output;
    ///   `CancellationError` when the task is cancelled (the group is sent SIGTERM, then SIGKILL after the grace).
    public func run(argument: String = "", standardInput: [UInt8]? = nil) async throws -> [UInt8] {
        if let standardInput {
            return try await run(argument: argument, input: .array(standardInput))
        }
        return try await run(argument: argument, input: .none)
    }

    private func run(argument: String, input: some InputProtocol) async throws -> [UInt8] {
        var platform = PlatformOptions()
        platform.processGroupID = 0  // a group of its own, led by the shell
        // A cancelled run (a forced stop) tears down the whole group, not only the shell.
        platform.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: grace)]
        let limit = maxOutputBytes
        let timeout = self.timeout
        let grace = self.grace
        let fired = TimeoutFlag()
        let result = try await Subprocess.run(
            .path("/bin/sh"), arguments: ["-c", commandLine(for: argument)], platformOptions: platform,
            input: input, output: .sequence, error: .sequence
        ) { execution in
            try await withThrowingTaskGroup(of: Drained.self) { group in
                group.addTask {
                    var bytes: [UInt8] = []
                    var overflow = false
                    for try await buffer in execution.standardOutput {
                        buffer.withUnsafeBytes { chunk in
                            if bytes.count + chunk.count > limit { overflow = true } else { bytes.append(contentsOf: chunk) }
                        }
                    }
                    return .output(bytes, overflow: overflow)
                }
                group.addTask {
                    var tail: [UInt8] = []
                    for try await buffer in execution.standardError {
                        buffer.withUnsafeBytes { tail.append(contentsOf: $0) }
                        if tail.count > 4096 { tail.removeFirst(tail.count - 2048) }
                    }
                    return .errorTail(Array(tail.suffix(2048)))
                }
                // The timer runs on a thread of its own: on a small machine blocking work can occupy every thread
                // of the cooperative pool, and a timeout that waits for the pool may never fire.
                let timer = timeout.map { KillTimer(group: execution.processIdentifier.value, after: $0, grace: grace, fired: fired) }
                defer { timer?.cancel() }
                var drained = Drained.Collected()
                while drained.output == nil || drained.errorTail == nil {
                    guard let part = try await group.next() else { break }
                    drained.take(part)
                }
                return drained
            }
        }
        try Task.checkCancellation()  // killed because the run was cancelled: not the item's failure
        let drained = result.closureResult
        let stderr = String(decoding: drained.errorTail ?? [], as: UTF8.self)
        if fired.isSet, let timeout {
            throw ItemCommandFailure(status: "timed out after \(timeout) and was killed", standardErrorTail: stderr)
        }
        if drained.overflow {
            throw ItemCommandFailure(status: "printed more than \(limit) bytes", standardErrorTail: stderr)
        }
        switch result.terminationStatus {
        case .exited(0): return drained.output ?? []
        case .exited(let code): throw ItemCommandFailure(status: "exit status \(code)", standardErrorTail: stderr)
        case .signaled(let signal): throw ItemCommandFailure(status: "killed by signal \(signal)", standardErrorTail: stderr)
        }
    }

    private enum Drained: Sendable {
        case output([UInt8], overflow: Bool)
        case errorTail([UInt8])

        struct Collected: Sendable {
            var output: [UInt8]?
            var overflow = false
            var errorTail: [UInt8]?

            mutating func take(_ part: Drained) {
                switch part {
                case .output(let bytes, let over):
                    output = bytes
                    overflow = over
                case .errorTail(let tail): errorTail = tail
                }
            }
        }
    }
}

/// Ends a process group after a timeout: SIGTERM, a grace period, SIGKILL — from a thread of its own.
final class KillTimer: Sendable {
    private let done = Mutex(false)
    private let wake = DispatchSemaphore(value: 0)

    init(group: pid_t, after timeout: Duration, grace: Duration, fired: TimeoutFlag) {
        let thread = Thread { [self] in
            guard wake.wait(timeout: .now() + timeout.seconds) == .timedOut else { return }
            fired.set()
            signal(group, SIGTERM)
            guard wake.wait(timeout: .now() + grace.seconds) == .timedOut else { return }
            signal(group, SIGKILL)
        }
        thread.name = "DurableIO item timeout"
        thread.start()
    }

    /// Sends to the group unless the command is over (its group may be gone, its id reused).
    private func signal(_ group: pid_t, _ signal: Int32) {
        done.withLock { over in if !over { _ = kill(-group, signal) } }
    }

    /// The command ended: never signal its group again.
    func cancel() {
        done.withLock { $0 = true }
        wake.signal()
    }
}


/// Set once by the timer, read after the command ended.
final class TimeoutFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { flag.load(ordering: .sequentiallyConsistent) }
}

/// An item command that failed: how, and the end of what it printed on standard error.
///
/// ```swift
/// catch let failure as ItemCommandFailure { print(failure.status, failure.standardErrorTail) }
/// ```
public struct ItemCommandFailure: Error, Sendable, CustomStringConvertible {
    /// `exit status 2`, `killed by signal 9`, `timed out after 60 seconds and was killed`.
    public var status: String
    /// The last 2 KiB of standard error.
    public var standardErrorTail: String

    public var description: String {
        let tail = standardErrorTail.trimmingCharacters(in: .whitespacesAndNewlines)
        return tail.isEmpty ? status : "\(status): \(tail.split(separator: "\n").suffix(3).joined(separator: " | "))"
    }
}
