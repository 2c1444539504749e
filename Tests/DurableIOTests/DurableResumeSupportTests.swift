import Foundation
import GRDB
import Synchronization
import Testing

/// Runs the built `durable-resume` with separate stdout and stderr, both drained while it runs.
final class ResumeCLI: @unchecked Sendable {
    let process = Process()
    private let out = Sink()
    private let err = Sink()
    private let drained = DispatchGroup()

    static var executable: URL {
        let candidates = [
            Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        for dir in candidates {
            let url = dir.appendingPathComponent("durable-resume")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        fatalError("durable-resume not found beside \(candidates)")
    }

    /// Starts `durable-resume arguments…` in `directory`, with `environment` added to this process's.
    convenience init(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws {
        try self.init(executable: Self.executable, arguments, in: directory, environment: environment)
    }

    /// Starts any executable the same way (`BuiltCLI` runs the other CLIs, and `/bin/sh` for a pasted hint, with
    /// it); `directory` `nil`: this process's. The variables that change durable-resume's defaults are removed.
    init(executable: URL, _ arguments: [String], in directory: String?, environment: [String: String] = [:]) throws {
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        for name in ["RESUME", "EXPERIMENT_ID", "RETRY_ERRORS_ONLY", "DURABLE_STORE"] { env[name] = nil }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        for (pipe, sink) in [(stdout, out), (stderr, err)] {
            drained.enter()
            let handle = pipe.fileHandleForReading
            Thread { [self] in
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    sink.bytes.withLock { $0.append(contentsOf: data) }
                }
                drained.leave()
            }.start()
        }
    }

    var stdout: String { String(decoding: out.bytes.withLock { $0 }, as: UTF8.self) }
    var stderr: String { String(decoding: err.bytes.withLock { $0 }, as: UTF8.self) }

    private final class Sink: Sendable {
        let bytes = Mutex<[UInt8]>([])
    }

    /// Waits (off the cooperative pool) for exit and for both pipes to close.
    @discardableResult
    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread {
                self.process.waitUntilExit()
                self.drained.wait()
                continuation.resume(returning: self.process.terminationStatus)
            }.start()
        }
    }

    /// Waits until stdout holds a `run <ID>` line and returns the id.
    func runID(timeout: Double = 60) async -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("run ") }) {
                return String(line.dropFirst(4))
            }
            if !process.isRunning { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return stdout.split(separator: "\n").first(where: { $0.hasPrefix("run ") }).map { String($0.dropFirst(4)) }
    }

    /// Waits (blocking this thread) until stdout holds a `run <ID>` line; for use inside `offPool`, where a
    /// test must act on the child on time.
    func waitForRunID(timeout: Double = 60) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("run ") }) {
                return String(line.dropFirst(4))
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.002)
        }
        return stdout.split(separator: "\n").first(where: { $0.hasPrefix("run ") }).map { String($0.dropFirst(4)) }
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Runs to the end: (exit status, stdout, stderr).
    static func run(
        _ arguments: [String], in directory: String, environment: [String: String] = [:]
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let cli = try ResumeCLI(arguments, in: directory, environment: environment)
        let status = await cli.wait()
        return (status, cli.stdout, cli.stderr)
    }
}

/// A directory with a database and a CSV source of `count` items (`id`, `kind`, `text`; items whose id is a
/// multiple of `failEvery` carry `"fail":"yes"`).
struct ResumeFixture {
    let directory = TemporaryDirectory()
    var dir: String { directory.path.string }
    var db: String { "\(dir)/runs.sqlite" }
    var csv: String { "\(dir)/items.csv" }

    init(count: Int, failEvery: Int? = nil) {
        var text = "id,kind,text,fail\n"
        for i in 1...count {
            let fail = failEvery.map { i % $0 == 0 } ?? false
            text += "\(i),\(i % 2 == 0 ? "A" : "B"),\"item \(i), with a comma\",\(fail ? "yes" : "no")\n"
        }
        writeRaw(text, to: directory.file("items.csv"))
    }

    /// A per-item command: appends the item to calls.log, optionally sleeps, fails items with `"fail":"yes"`
    /// unless the file `fixed` exists, and echoes the item as its result.
    func command(sleep: Double? = nil, failing: Bool = false, slowWhileFlag: Bool = false) -> String {
        var parts = ["input=$(cat)", "printf '%s\\n' \"$input\" >> '\(dir)/calls.log'"]
        if let sleep {
            parts.append(slowWhileFlag ? "[ -f '\(dir)/slow' ] && sleep \(sleep)" : "sleep \(sleep)")
        }
        if failing {
            parts.append("case \"$input\" in *'\"fail\":\"yes\"'*) [ -f '\(dir)/fixed' ] || { echo \"boom\" >&2; exit 3; };; esac")
        }
        parts.append("printf '%s' \"$input\"")
        return parts.joined(separator: "; ")
    }

    /// Lines in calls.log: how many times the command ran.
    var calls: [String] { readText(directory.file("calls.log")).split(separator: "\n").map(String.init) }

    func touch(_ name: String) { writeRaw("", to: directory.file(name)) }

    func remove(_ name: String) { try? FileManager.default.removeItem(atPath: "\(dir)/\(name)") }

    /// Reads the database as another process would.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let queue = try DatabaseQueue(path: db)
        return try queue.read(body)
    }

    func resultCount() throws -> Int { try read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM results")! } }

    func committed(runID: String) throws -> Int {
        try read { try Int.fetchOne($0, sql: "SELECT completed_count + failed_count FROM runs WHERE id = ?", arguments: [runID]) ?? 0 }
    }
}
