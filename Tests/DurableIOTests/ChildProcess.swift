import Foundation
import Synchronization

/// A child process whose stdout and stderr are drained while it runs (never after it exits: a child that
/// prints more than a pipe buffer would deadlock).
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let output = Mutex<[UInt8]>([])
    private let drained = DispatchGroup()

    /// The test helper executable, built beside the test bundle.
    static var testHelper: URL { built("durable-test-helper") }

    /// An executable of this package, built beside the test bundle.
    static func built(_ name: String) -> URL {
        let candidates = [
            Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        for dir in candidates {
            let url = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        fatalError("\(name) not found beside \(candidates)")
    }

    init(_ executable: URL, _ arguments: [String]) throws {
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        for pipe in [out, err] {
            drained.enter()
            let handle = pipe.fileHandleForReading
            Thread { [self] in
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    output.withLock { $0.append(contentsOf: data) }
                }
                drained.leave()
            }.start()
        }
    }

    var text: String { String(decoding: output.withLock { $0 }, as: UTF8.self) }

    /// Waits until the output contains `needle`, or `timeout` passes.
    func waitFor(_ needle: String, timeout: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if text.contains(needle) { return true }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return text.contains(needle)
    }

    /// Waits for exit and for both pipes to close; returns the exit status.
    @discardableResult
    func wait() -> Int32 {
        process.waitUntilExit()
        drained.wait()
        return process.terminationStatus
    }

    /// Waits for `needle` without holding a thread of the cooperative pool.
    func waitFor(_ needle: String, timeout: Double = 60) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if text.contains(needle) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return text.contains(needle)  // a task resumed late must still look once more
    }

    /// Waits for exit on a thread of its own, so a test waiting for children does not hold a thread of the
    /// cooperative pool (2 threads here) that other tests' tasks need.
    @discardableResult
    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.wait()) }.start()
        }
    }

    /// Sends `signal` as soon as `condition` holds, polling on a thread of its own: a poll on the cooperative pool
    /// can resume seconds late on a busy 2-core machine, after the child has already finished.
    ///
    /// - Returns: whether the condition held (and the signal was sent) before `timeout` or the child's exit.
    func send(_ signal: Int32, when condition: @escaping @Sendable () throws -> Bool, timeout: Double = 30) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread { [self] in
                let deadline = Date().addingTimeInterval(timeout)
                while Date() < deadline && process.isRunning {
                    if (try? condition()) == true {
                        kill(process.processIdentifier, signal)
                        continuation.resume(returning: true)
                        return
                    }
                    Thread.sleep(forTimeInterval: 0.002)
                }
                continuation.resume(returning: false)
            }.start()
        }
    }

    func kill9() async {
        kill(process.processIdentifier, SIGKILL)
        await wait()
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        wait()
    }
}
