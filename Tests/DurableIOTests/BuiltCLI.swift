import Foundation

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
        let cli = try ResumeCLI(executable: URL(fileURLWithPath: executable), arguments, in: directory, environment: environment)
        let status = await cli.wait()
        return Result(status: status, stdout: cli.stdout, stderr: cli.stderr)
    }
}
