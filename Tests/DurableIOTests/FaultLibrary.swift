import Foundation

/// Faults injected at the C library boundary: `Tests/FaultInjection/fault_injection.c`, compiled once per test run
/// with `cc -shared -fPIC` into a temporary folder and loaded into a built CLI with `LD_PRELOAD`. The C file's header
/// lists the faults; ``Fault`` spells them for a test.
///
/// ```swift
/// guard let preload = FaultLibrary.environment([.sync(pathContaining: "-wal", after: 1)], program: "durable-resume")
/// else { return }
/// let run = try await ChildProcess.run(resume, arguments, environment: preload)
/// ```
enum FaultLibrary {
    /// One fault: each fails every matching call after `after` good ones.
    enum Fault {
        /// `fsync`/`fdatasync` of a file whose path contains the text: `EIO` (or `errno`).
        case sync(pathContaining: String, after: Int = 0, errno: Int32 = EIO)
        /// `write`/`pwrite`/`writev` to a matching file (never stdout/stderr): `ENOSPC` (or `errno`).
        case write(pathContaining: String, after: Int = 0, errno: Int32 = ENOSPC)
        /// `pipe`/`pipe2`: `EMFILE`.
        case pipe(after: Int)
        /// `open`/`openat` of a matching path: `EMFILE`.
        case open(pathContaining: String, after: Int = 0)

        var environment: [String: String] {
            switch self {
            case .sync(let path, let after, let errno):
                ["DURABLE_FAULT_SYNC_PATH": path, "DURABLE_FAULT_SYNC_AFTER": "\(after)", "DURABLE_FAULT_SYNC_ERRNO": "\(errno)"]
            case .write(let path, let after, let errno):
                ["DURABLE_FAULT_WRITE_PATH": path, "DURABLE_FAULT_WRITE_AFTER": "\(after)", "DURABLE_FAULT_WRITE_ERRNO": "\(errno)"]
            case .pipe(let after): ["DURABLE_FAULT_PIPE_AFTER": "\(after)"]
            case .open(let path, let after): ["DURABLE_FAULT_OPEN_PATH": path, "DURABLE_FAULT_OPEN_AFTER": "\(after)"]
            }
        }
    }

    /// The C source, beside the tests.
    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FaultInjection/fault_injection.c")

    /// The compiled library (built at first use, once per test run), or `nil` with the reason printed.
    static let library: String? = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/cc") else {
            print("SKIPPED: the fault-injection tests need a C compiler at /usr/bin/cc")
            return nil
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("durableio-faults-\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let output = folder.appendingPathComponent("libdurablefault.so").path
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        compiler.arguments = ["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", output, source.path, "-ldl"]
        do {
            try compiler.run()
            compiler.waitUntilExit()
        } catch {
            print("SKIPPED: could not run cc for the fault-injection library: \(error)")
            return nil
        }
        guard compiler.terminationStatus == 0 else {
            print("SKIPPED: cc failed to build \(source.path) (exit \(compiler.terminationStatus))")
            return nil
        }
        return output
    }()

    /// The environment that loads the library with `faults` into the process named `program` (its item commands
    /// inherit the preload but no faults); `nil` when the library cannot be built.
    static func environment(_ faults: [Fault], program: String) -> [String: String]? {
        guard let library else { return nil }
        var environment = ["LD_PRELOAD": library, "DURABLE_FAULT_PROGRAM": program]
        for fault in faults { environment.merge(fault.environment) { $1 } }
        return environment
    }
}

extension ChildProcess {
    /// Runs `executable arguments…` to its end with `environment` added (through `/usr/bin/env`); returns the exit
    /// status and everything it printed.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), assignments + [executable.path] + arguments)
        let status = await child.wait()
        return (status, child.text)
    }
}
