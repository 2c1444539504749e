import ArgumentParser
import DurableIO
import Foundation
import Logging
import Synchronization

/// A run's own log file, `DIR/<run>/run.log` (`--log-dir DIR`, the spec's `logs/experiments/<experiment_id>/`):
/// every line a command and the libraries log through ``logger(label:)`` or ``logger(alongside:)`` — start,
/// configuration, commits, retries, failures with their messages, guardrail events — at `debug` and above, each
/// with an ISO 8601 UTC timestamp, and the end (exit code, summary, last error) written by ``finish(_:code:)``.
/// Each session of the same run appends to the same file. Lines logged before the run's name is known
/// (durable-resume learns its run id after ingesting) are kept and written once ``name(_:)`` is called; a command
/// that ends before that writes them under a folder named after its start time.
///
/// ```swift
/// let log = try RunLog(directory: "logs/experiments", command: "durable-resume start")
/// log.logger.info("configuration", metadata: ["jobs": "8"])
/// log.name("3f2c9a")                       // logs/experiments/3f2c9a/run.log
/// log.finish("durable-resume start", code: 0)
/// ```
public final class RunLog: Sendable {
    /// The folder that holds one folder per run.
    public let directory: FilePath
    private let fileSystem: any FileSystem
    private let started = Date()
    private let state = Mutex(State())

    private struct State {
        var fd: FileDescriptor?
        var buffered: [[UInt8]] = []
        var failed = false
    }

    /// A log whose file is created under `directory` once the run is named.
    public init(directory: FilePath, fileSystem: any FileSystem = RealFileSystem()) {
        self.directory = directory
        self.fileSystem = fileSystem
    }

    /// A logger that writes to this file at `debug` and above, labelled `label`.
    public func logger(label: String) -> Logger {
        var logger = Logger(label: label) { label in RunLogHandler(log: self, label: label) }
        logger.logLevel = .debug
        return logger
    }

    /// `terminal` (at its own level) and this file (at `debug`) as one logger. Do not set the result's `logLevel`:
    /// it would set both.
    public func logger(alongside terminal: Logger) -> Logger {
        let file = logger(label: terminal.label)
        // Each handler keeps its level (setting the multiplexed logger's level would set both).
        return Logger(label: terminal.label) { _ in MultiplexLogHandler([terminal.handler, file.handler]) }
    }

    /// Names the run: opens (creating) `directory/<name>/run.log` for appending and writes what was logged so far.
    /// A name is made safe as one path component (`/` and a leading `.` are replaced).
    public func name(_ name: String) {
        state.withLock { state in
            guard state.fd == nil, !state.failed else { return }
            open(&state, folder: Self.folderName(name))
        }
    }

    /// Writes the end — the exit code, its name, the summary and the last error recorded in ``ExitRecord`` — then
    /// syncs and closes the file.
    public func finish(_ command: String, code: Int32) {
        let recorded = ExitRecord.shared.snapshot()
        var line = "ended: exit \(code) (\(DurableExitCode(rawValue: code)?.name ?? "exit \(code)"))"
        if let error = recorded.error { line += "; error: \(error.message)" }
        append(level: code == 0 ? .info : .error, label: command, message: line, metadata: nil)
        if let summary = recorded.summary {
            append(level: .info, label: command, message: "summary " + String(decoding: summary.dropLast(), as: UTF8.self), metadata: nil)
        }
        state.withLock { state in
            if state.fd == nil, !state.failed {
                open(&state, folder: "session-" + started.formatted(.iso8601).replacingOccurrences(of: ":", with: ""))
            }
            guard let fd = state.fd else { return }
            do { try fileSystem.fsync(fd) } catch { warn("could not sync the run log: \(error)") }
            try? fileSystem.close(fd)
            state.fd = nil
            state.failed = true  // closed: nothing more is written
        }
    }

    /// Appends one line (kept in memory until the run is named).
    func append(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata?) {
        var text = "\(Date().formatted(Self.timestamp)) \(level) \(label): \(message)"
        if let metadata, !metadata.isEmpty {
            text += " " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        let bytes = Array((text.replacingOccurrences(of: "\n", with: "\\n") + "\n").utf8)
        state.withLock { state in
            guard let fd = state.fd else {
                if !state.failed { state.buffered.append(bytes) }
                return
            }
            write(bytes, to: fd, state: &state)
        }
    }

    private func open(_ state: inout State, folder: String) {
        let folder = directory.appending(folder)
        let file = folder.appending("run.log")
        do {
            var levels: [FilePath] = []  // every missing folder down to the run's, as `mkdir -p`
            var path = folder
            while !path.isEmpty, path != path.removingLastComponent(), (try? fileSystem.exists(path)) != true {
                levels.insert(path, at: 0)
                path = path.removingLastComponent()
            }
            for level in levels {
                do { try fileSystem.mkdir(level, permissions: [.ownerReadWriteExecute, .groupReadExecute, .otherReadExecute]) } catch .fileExists {}
            }
            let fd = try fileSystem.open(file, .writeOnly, options: [.create, .append], permissions: [.ownerReadWrite, .groupRead, .otherRead])
            state.fd = fd
            for line in state.buffered { write(line, to: fd, state: &state) }
            state.buffered = []
        } catch {
            state.failed = true
            state.buffered = []
            warn("could not open the run log \(file): \(error); the run goes on without it")
        }
    }

    private func write(_ bytes: [UInt8], to fd: FileDescriptor, state: inout State) {
        do { _ = try fileSystem.writeAll(fd, bytes) } catch {
            try? fileSystem.close(fd)
            state.fd = nil
            state.failed = true
            warn("could not write the run log: \(error); the run goes on without it")
        }
    }

    private func warn(_ text: String) { ProgressRenderer.standardError("warning: \(text)\n") }

    private static let timestamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func folderName(_ name: String) -> String {
        var safe = name.replacingOccurrences(of: "/", with: "_")
        if safe.hasPrefix(".") { safe = "_" + safe.dropFirst() }
        return safe.isEmpty ? "_" : safe
    }
}

/// The swift-log handler of a ``RunLog``.
struct RunLogHandler: LogHandler {
    let log: RunLog
    let label: String
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = allMetadata(of: event)
        let source = event.source
        log.append(level: event.level, label: source == label.replacingOccurrences(of: "-", with: "_") ? label : "\(label)/\(source)", message: "\(event.message)", metadata: all)
    }
}

/// `--log-dir DIR`: each run's log in `DIR/<run>/run.log` (see ``RunLog``); the terminal output does not change.
///
/// ```swift
/// @OptionGroup(title: "Alerts and logs") var runLog: RunLogOptions
/// let log = runLog.open()            // nil without --log-dir
/// ```
public struct RunLogOptions: ParsableArguments, Sendable {
    @Option(
        help: ArgumentHelp(
            "Append this run's log (configuration, commits, retries, failures, guardrail stops, the end) to DIR/<run>/run.log; the terminal output does not change.",
            valueName: "dir"))
    public var logDir: String?

    public init() {}

    /// The run log, or `nil` without `--log-dir`.
    public func open() -> RunLog? { logDir.map { RunLog(directory: FilePath($0)) } }
}
