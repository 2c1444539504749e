import DurableIO
import Foundation
import SystemPackage

/// Uncontended acquire+release latency of both lock kinds, and the handover from a holder killed with SIGKILL.
enum LockBenchmark {
    static func make(_ kind: String, _ path: FilePath) -> any ProcessLock {
        kind == "file" ? FileLock(at: path) : LockFile(at: path)
    }

    /// Median seconds per acquire+release over `rounds` rounds of `count`.
    static func uncontended(_ kind: String, in dir: FilePath, rounds: Int, count: Int) throws -> Double {
        var perRound: [Double] = []
        for round in 0..<rounds {
            let lock = make(kind, dir.appending("\(kind)-\(round).lock"))
            perRound.append(
                try time {
                    for _ in 0..<count {
                        guard try lock.tryAcquire() else { throw lock.heldError() }  // another process took it: no figure
                        try lock.release()
                    }
                } / Double(count))
        }
        return perRound.median
    }

    /// Seconds from `kill -9` of the holder to this process holding the lock, polling every `poll` seconds.
    static func handover(_ kind: String, in dir: FilePath, poll: Double, trial: Int) throws -> Double {
        let path = dir.appending("handover-\(kind)-\(trial).lock")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        child.arguments = ["hold-lock", "--kind", kind, "--path", path.string]
        let pipe = Pipe()
        child.standardOutput = pipe
        try child.run()
        _ = pipe.fileHandleForReading.availableData  // "acquired"
        let lock = make(kind, path)
        let heldByChild = try !lock.tryAcquire()
        precondition(heldByChild, "the child should hold the lock")
        let start = now()
        kill(child.processIdentifier, SIGKILL)
        while try !lock.tryAcquire() { Thread.sleep(forTimeInterval: poll) }
        let elapsed = now() - start
        child.waitUntilExit()
        try lock.release()
        return elapsed
    }
}
