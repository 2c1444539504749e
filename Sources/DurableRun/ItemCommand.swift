import DurableIO
import Foundation
import Subprocess
import Synchronization
import SystemPackage

/// One item's command: `/bin/sh -c` with `{}` in the template replaced by the item's argument, shell-quoted, and
/// `{{}}` by a literal `{}` (for a command that needs the two characters themselves, e.g. `find . -exec … {{}} +`
/// or a JSON `'{{}}'`). Its standard output is the row; a non-zero exit, a signal or a timeout is a failure carrying the exit status and
/// the tail of standard error.
///
/// Each command runs in a process group of its own, so a timeout (or a cancelled run) ends the whole tree:
/// SIGTERM to the group, a grace period, then SIGKILL. Both pipes are drained while the command runs — never after
/// it exits, which deadlocks a child that prints more than a pipe buffer. Started with `posix_spawn` (the measured
/// fast path, see `ItemProcess`), swift-subprocess where that path declines.
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
    /// Variables set for the command on top of this process's environment (replacing a variable of the same name).
    public var environment: [String: String] = [:]
    /// Whether `{}` in the template is replaced by the argument (`false`: the template is the command line as is,
    /// for a command that takes no argument, such as an `--on-exit` hook whose `jq '. // {}'` must stay intact).
    public var replacesPlaceholder = true

    /// A command from a template.
    public init(_ template: String, timeout: Duration? = nil, grace: Duration = .seconds(5), maxOutputBytes: Int = 16 << 20) {
        self.template = template
        self.timeout = timeout
        self.grace = grace
        self.maxOutputBytes = maxOutputBytes
    }

    /// The shell command line for `argument`: each `{}` becomes the argument, shell-quoted; each `{{}}` a literal
    /// `{}`.
    public func commandLine(for argument: String) -> String {
        String(decoding: commandLine(forBytes: Array(argument.utf8)), as: UTF8.self)
    }

    /// The shell command line for an argument given as bytes (a file name need not be UTF-8): the bytes reach the
    /// shell exactly, never through a `String` that would turn an invalid byte into U+FFFD and name another file.
    public func commandLine(forBytes argument: [UInt8]) -> [UInt8] {
        let quoted = Self.shellQuoted(bytes: argument)
        let template = Array(self.template.utf8)
        var line: [UInt8] = []
        line.reserveCapacity(template.count + quoted.count)
        let (open, close) = (UInt8(ascii: "{"), UInt8(ascii: "}"))
        var index = 0
        while index < template.count {
            if template[index...].starts(with: [open, open, close, close]) {
                line.append(contentsOf: [open, close])  // `{{}}`: a literal `{}`
                index += 4
            } else if template[index] == open, index + 1 < template.count, template[index + 1] == close {
                line.append(contentsOf: quoted)
                index += 2
            } else {
                line.append(template[index])
                index += 1
            }
        }
        return line
    }

    /// `it's` → `'it'\''s'`: safe inside `sh -c` whatever the argument holds.
    public static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// ``shellQuoted(_:)`` on bytes.
    public static func shellQuoted(bytes: [UInt8]) -> [UInt8] {
        var quoted: [UInt8] = [UInt8(ascii: "'")]
        for byte in bytes {
            if byte == UInt8(ascii: "'") { quoted.append(contentsOf: Array(#"'\''"#.utf8)) } else { quoted.append(byte) }
        }
        quoted.append(UInt8(ascii: "'"))
        return quoted
    }

    /// Runs the command for `argument` and returns its standard output.
    ///
    /// - Parameters:
    ///   - argument: replaces `{}` in the template, shell-quoted.
    ///   - standardInput: bytes the command reads on its standard input (for example the item as JSON); `nil`
    ///     gives it no input. A command may exit without reading them: that is no failure.
    /// - Throws: ``ItemCommandFailure`` for a non-zero exit, a signal, a timeout, too much output, or a command
    ///   that could not be started (no pipe or process could be made: `EMFILE`, `EAGAIN`); `CancellationError`
    ///   when the task is cancelled (the group is sent SIGTERM, then SIGKILL after the grace).
    public func run(argument: String = "", standardInput: [UInt8]? = nil) async throws -> [UInt8] {
        try await run(argumentBytes: Array(argument.utf8), standardInput: standardInput)
    }

    /// Runs the command with `{}` replaced by `path`'s exact bytes (a file name need not be UTF-8); see
    /// ``run(argument:standardInput:)``.
    public func run(path: FilePath, standardInput: [UInt8]? = nil) async throws -> [UInt8] {
        let bytes = path.withPlatformString { name in
            Array(UnsafeBufferPointer(start: UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self), count: strlen(name)))
        }
        return try await run(argumentBytes: bytes, standardInput: standardInput)
    }

    /// Runs the command with `{}` replaced by these exact bytes (a path as the file system has it); see
    /// ``run(argument:standardInput:)``.
    public func run(argumentBytes: [UInt8], standardInput: [UInt8]? = nil) async throws -> [UInt8] {
        try await run(argumentBytes: argumentBytes, standardInput: standardInput, spawner: .preferred)
    }

    /// ``run(argumentBytes:standardInput:)`` started by `spawner` (the tests compare the two).
    package func run(argumentBytes: [UInt8], standardInput: [UInt8]?, spawner: ItemSpawner) async throws -> [UInt8] {
        let pipes: ItemPipes
        do {
            pipes = try ItemPipes()
        } catch {
            throw ItemCommandFailure.notStarted("no pipe for its input and output (\(error.failureText))")
        }
        // swift-subprocess strdup()s raw arguments, posix_spawn takes C strings: each needs its terminating NUL.
        let arguments = [Array("-c".utf8) + [0], (replacesPlaceholder ? commandLine(forBytes: argumentBytes) : Array(template.utf8)) + [0]]
        let fired = TimeoutFlag()
        let ended: (output: ItemOutput, termination: ItemTermination)
        if spawner == .posixSpawn,
            let spawned = try await runSpawned(arguments: arguments, pipes: pipes, standardInput: standardInput, fired: fired)
        {
            ended = spawned
        } else {
            ended = try await runThroughSubprocess(arguments: arguments, pipes: pipes, standardInput: standardInput, fired: fired)
        }
        try Task.checkCancellation()  // killed because the run was cancelled: not the item's failure
        let output = ended.output
        let stderr = String(decoding: output.errorTail, as: UTF8.self)
        if fired.isSet, let timeout {
            throw ItemCommandFailure(.timedOut(timeout), status: "timed out after \(timeout) and was killed", standardErrorTail: stderr)
        }
        if output.overflow {
            throw ItemCommandFailure(.outputLimitExceeded(maxOutputBytes), status: "printed more than \(maxOutputBytes) bytes", standardErrorTail: stderr)
        }
        switch ended.termination {
        case .exited(0): return output.output
        case .exited(let code): throw ItemCommandFailure(.exited(code), status: "exit status \(code)", standardErrorTail: stderr)
        case .signalled(let signal): throw ItemCommandFailure(.signalled(signal), status: "killed by signal \(signal)", standardErrorTail: stderr)
        }
    }

    /// The fast path (``ItemProcess``): `nil` when it declines, the pipes untouched.
    private func runSpawned(
        arguments: [[UInt8]], pipes: ItemPipes, standardInput: [UInt8]?, fired: TimeoutFlag
    ) async throws -> (output: ItemOutput, termination: ItemTermination)? {
        if Task.isCancelled {
            pipes.closeChildEnds()
            pipes.closeParentEnds()
            throw CancellationError()
        }
        let environment = self.environment.isEmpty ? Self.inheritedEnvironmentRows : CStringRows(Self.environmentRows(adding: self.environment))
        switch ItemProcess.spawn(arguments: CStringRows([Self.shellPath] + arguments), environment: environment, pipes: pipes) {
        case nil:
            return nil
        case .failure(let error):
            pipes.closeParentEnds()
            throw ItemCommandFailure.notStarted("posix_spawn /bin/sh: \(error.failureText)")
        case .success(let child):
            // The same order as the library's: the timer runs on a thread of its own (see below); a cancelled
            // task tears the group down, SIGTERM then SIGKILL after the grace.
            let timer = timeout.map { KillTimer(group: child, after: $0, grace: grace, fired: fired) }
            let teardown = GroupTeardown(group: child, grace: grace)
            let (output, status) = await withTaskCancellationHandler {
                await pipes.exchangeAndReap(input: standardInput ?? [], outputLimit: maxOutputBytes, child: child)
            } onCancel: {
                teardown.start()
            }
            teardown.end()
            timer?.cancel()
            return (output, ItemTermination(waitStatus: status))
        }
    }

    /// `argv[0]` of the shell, as swift-subprocess sets it: the executable's path.
    private static let shellPath = Array("/bin/sh".utf8) + [0]

    /// The library's path: swift-subprocess starts, watches and reaps the command.
    private func runThroughSubprocess(
        arguments: [[UInt8]], pipes: ItemPipes, standardInput: [UInt8]?, fired: TimeoutFlag
    ) async throws -> (output: ItemOutput, termination: ItemTermination) {
        var platform = PlatformOptions()
        platform.processGroupID = 0  // a group of its own, led by the shell
        // A cancelled run (a forced stop) tears down the whole group, not only the shell.
        platform.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: grace)]
        let limit = maxOutputBytes
        let timeout = self.timeout
        let grace = self.grace
        let result: ExecutionResult<ItemOutput, FileDescriptorOutput, FileDescriptorOutput>
        do {
            result = try await Subprocess.run(
                .path("/bin/sh"),
                arguments: Arguments(arguments),
                environment: .custom(environment.isEmpty ? Self.inheritedEnvironment : Self.environmentRows(adding: environment)),
                platformOptions: platform,
                input: .fileDescriptor(pipes.childInput, closeAfterSpawningProcess: true),
                output: .fileDescriptor(pipes.childOutput, closeAfterSpawningProcess: true),
                error: .fileDescriptor(pipes.childError, closeAfterSpawningProcess: true)
            ) { execution in
                // The timer runs on a thread of its own: on a small machine blocking work can occupy every thread
                // of the cooperative pool, and a timeout that waits for the pool may never fire.
                let timer = timeout.map { KillTimer(group: execution.processIdentifier.value, after: $0, grace: grace, fired: fired) }
                defer { timer?.cancel() }
                return await pipes.exchange(input: standardInput ?? [], outputLimit: limit, child: execution.processIdentifier.value)
            }
        } catch let error as SubprocessError {
            pipes.closeParentEnds()
            throw ItemCommandFailure.notStarted("\(error)")
        } catch {
            pipes.closeParentEnds()
            throw error
        }
        switch result.terminationStatus {
        case .exited(let code): return (result.closureResult, .exited(code))
        case .signaled(let signal): return (result.closureResult, .signalled(signal))
        }
    }

    /// The environment item commands run with, as rows of `NAME=value` and a NUL: this process's, with
    /// `SWIFT_BACKTRACE=interactive=no` unless the user set `SWIFT_BACKTRACE` (a Swift program run as an item command
    /// must not wait for a key on a terminal).
    ///
    /// Read from `environ` once, as bytes, and handed on as raw rows: swift-subprocess's `.inherit` parses the whole
    /// environment into a `[String: String]` and formats it back at every spawn (about a tenth of the runner's CPU
    /// per item in `Scripts/benchmark-overhead.sh`'s profile), and decoding it as `String` would replace a value
    /// that is not UTF-8. A variable set after the first item starts is not seen by item commands.
    static let inheritedEnvironment: [[UInt8]] = {
        var rows: [[UInt8]] = []
        var hasBacktraceSetting = false
        var entry = environ
        while let pointer = entry.pointee {
            let row = Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer)))
            if row.starts(with: Array("SWIFT_BACKTRACE=".utf8)) { hasBacktraceSetting = true }
            rows.append(row + [0])
            entry += 1
        }
        if !hasBacktraceSetting { rows.append(Array("SWIFT_BACKTRACE=interactive=no".utf8) + [0]) }
        return rows
    }()

    /// ``inheritedEnvironment`` as `posix_spawn` takes it, made once.
    private static let inheritedEnvironmentRows = CStringRows(inheritedEnvironment)

    /// ``inheritedEnvironment`` with `variables` set, each replacing an inherited variable of the same name.
    static func environmentRows(adding variables: [String: String]) -> [[UInt8]] {
        var rows = inheritedEnvironment.filter { row in
            variables[String(decoding: row.prefix { $0 != UInt8(ascii: "=") }, as: UTF8.self)] == nil
        }
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) { rows.append(Array("\(name)=\(value)".utf8) + [0]) }
        return rows
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
/// catch let failure as ItemCommandFailure {
///     if case .timedOut = failure.reason { print("timeout") }
///     print(failure.status, failure.standardErrorTail)
/// }
/// ```
public struct ItemCommandFailure: Error, Sendable, CustomStringConvertible {
    /// Why an item command failed, for programs (``status`` says it in words).
    public enum Reason: Sendable, Equatable {
        /// It exited with this non-zero status.
        case exited(Int32)
        /// A signal ended it (not the timeout's).
        case signalled(Int32)
        /// It ran longer than its timeout and was killed.
        case timedOut(Duration)
        /// It printed more than this many bytes on standard output.
        case outputLimitExceeded(Int)
        /// No pipe or process could be made for it (`EMFILE`, `EAGAIN`, …); the next run retries it.
        case couldNotStart
    }

    /// Why it failed.
    public var reason: Reason
    /// `exit status 2`, `killed by signal 9`, `timed out after 60 seconds and was killed`.
    public var status: String
    /// The last 2 KiB of standard error.
    public var standardErrorTail: String

    init(_ reason: Reason, status: String, standardErrorTail: String) {
        self.reason = reason
        self.status = status
        self.standardErrorTail = standardErrorTail
    }

    /// A command that could not be started, and why (`EMFILE …`, the spawn's error): the next run retries it.
    static func notStarted(_ cause: String) -> ItemCommandFailure {
        ItemCommandFailure(.couldNotStart, status: "could not be started: \(cause); it is retried by the next run", standardErrorTail: "")
    }

    public var description: String {
        let tail = standardErrorTail.trimmingCharacters(in: .whitespacesAndNewlines)
        return tail.isEmpty ? status : "\(status): \(tail.split(separator: "\n").suffix(3).joined(separator: " | "))"
    }
}

extension ItemCommandFailure {
    /// The exit status that asks for a retry by convention: 75, `EX_TEMPFAIL` in sysexits.h ("temporary failure;
    /// the user is invited to retry").
    public static let temporaryFailureExitCode: Int32 = 75

    /// Whether this failure is worth another attempt within the run: the command exited with one of
    /// `exitCodes` (default: 75, `EX_TEMPFAIL`) or ran past its timeout. Any other exit, a signal, too much output
    /// or a command that could not start is permanent for this run (the next run retries it).
    ///
    /// ```swift
    /// let retry = (error as? ItemCommandFailure)?.isTransient() ?? false
    /// ```
    public func isTransient(exitCodes: Set<Int32> = [temporaryFailureExitCode]) -> Bool {
        switch reason {
        case .exited(let code): return exitCodes.contains(code)
        case .timedOut: return true
        case .signalled, .outputLimitExceeded, .couldNotStart: return false
        }
    }
}
