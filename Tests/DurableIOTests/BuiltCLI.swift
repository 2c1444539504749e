import Foundation
import Synchronization

/// Runs one of the package's built executables (`durable-extract`, `durable-resume`, `durable-backfill`) to the
/// end, with stdout and stderr kept apart and both drained while it runs (never after it exits).
///
/// ```swift
/// let r = try await BuiltCLI.run("durable-extract", ["--version"])   // r.status, r.stdout, r.stderr
/// ```
enum BuiltCLI {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    final class Sink: Sendable {
        let bytes = Mutex<[UInt8]>([])
    }

    /// Runs `tool arguments…` in `directory` (default: this process's), with `environment` added to this
    /// process's and the variables that change durable-resume's defaults removed.
    static func run(
        _ tool: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]
    ) async throws -> Result {
        try await run(executable: ChildProcess.built(tool).path, arguments, in: directory, environment: environment)
    }

    /// Runs any executable (`/bin/sh` for a pasted hint) the same way.
    static func run(
        executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]
    ) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        for name in ["RESUME", "EXPERIMENT_ID", "RETRY_ERRORS_ONLY", "DURABLE_STORE"] { env[name] = nil }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let pipes = [Pipe(), Pipe()]
        process.standardOutput = pipes[0]
        process.standardError = pipes[1]
        let sinks = [Sink(), Sink()]
        try process.run()
        return await withCheckedContinuation { continuation in
            Thread {
                let drained = DispatchGroup()
                for (pipe, sink) in zip(pipes, sinks) {
                    drained.enter()
                    let handle = pipe.fileHandleForReading
                    Thread {
                        while true {
                            let data = handle.availableData
                            if data.isEmpty { break }
                            sink.bytes.withLock { $0.append(contentsOf: data) }
                        }
                        drained.leave()
                    }.start()
                }
                process.waitUntilExit()
                drained.wait()
                let text = sinks.map { sink in String(decoding: sink.bytes.withLock { $0 }, as: UTF8.self) }
                continuation.resume(returning: Result(status: process.terminationStatus, stdout: text[0], stderr: text[1]))
            }.start()
        }
    }
}
