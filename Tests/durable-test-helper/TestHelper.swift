import ArgumentParser
import DurableIO
import Foundation
import SystemPackage

/// A test-only helper: takes a lock of either kind, does work inside it, holds it until killed, or reports a
/// holder. The lock tests run it as real processes.
@main
struct TestHelper: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-test-helper", abstract: "Lock test helper (not installed).",
        subcommands: [Increment.self, Hold.self, Try.self, Append.self, Allocate.self, Hog.self, Stall.self, Reclaim.self, Walk.self])

    enum Kind: String, ExpressibleByArgument { case file, lockfile }

    static func lock(_ kind: Kind, _ path: String, staleAge: Double?) -> any ProcessLock {
        switch kind {
        case .file: return FileLock(at: FilePath(path))
        case .lockfile:
            var options = LockFile.Options()
            if let staleAge { options.staleAge = .milliseconds(Int(staleAge * 1000)) }
            return LockFile(at: FilePath(path), options: options)
        }
    }

    static func say(_ text: String) {
        // Unbuffered, so the test reading the pipe sees it at once.
        let line = Array((text + "\n").utf8)
        _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    }
}

/// Increments a counter file `iterations` times, each read-modify-write inside the lock.
struct Increment: ParsableCommand {
    @Option var kind: TestHelper.Kind
    @Option var path: String
    @Option var counter: String
    @Option var iterations: Int

    func run() throws {
        let lock = TestHelper.lock(kind, path, staleAge: nil)
        for _ in 0..<iterations {
            // Generous: the test is of exclusion, not latency, and eight polling contenders under AddressSanitizer on a
            // loaded 2-core machine starved one past a minute.
            try lock.withLock(timeout: .seconds(600)) {
                let text = (try? String(contentsOfFile: counter, encoding: .utf8)) ?? "0"
                let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                try "\(value + 1)\n".write(toFile: counter, atomically: false, encoding: .utf8)
            }
        }
    }
}

/// Takes the lock, prints `acquired <token>`, and holds it until killed.
struct Hold: ParsableCommand {
    @Option var kind: TestHelper.Kind
    @Option var path: String
    @Option var timeout: Double = 10
    @Option(help: "LockFile stale age in seconds.") var staleAge: Double?

    func run() throws {
        let lock = TestHelper.lock(kind, path, staleAge: staleAge)
        try lock.acquireBlocking(timeout: .milliseconds(Int(timeout * 1000)))
        TestHelper.say("acquired \(lock.token ?? 0)")
        while true { Thread.sleep(forTimeInterval: 3600) }
    }
}

/// Tries once: prints `acquired <token>` (exit 0) or the held error (exit 4).
struct Try: ParsableCommand {
    @Option var kind: TestHelper.Kind
    @Option var path: String
    @Option(help: "LockFile stale age in seconds.") var staleAge: Double?
    @Option(help: "Seconds to keep the lock before releasing.") var keep: Double = 0

    func run() throws {
        let lock = TestHelper.lock(kind, path, staleAge: staleAge)
        do {
            try lock.acquireBlocking(timeout: .zero)
        } catch let error as DurableIOError where error.code == .lockHeld {
            TestHelper.say(error.description)
            throw ExitCode(4)
        }
        TestHelper.say("acquired \(lock.token ?? 0)")
        if keep > 0 { Thread.sleep(forTimeInterval: keep) }
        try lock.release()
    }
}

/// Lists a tree through the seam (`RealFileSystem.listDirectory`, recursively) and prints how many entries it
/// found: the AddressSanitizer check of `.ci/run` runs it over long and odd names, where a copied `dirent` reads
/// past its record.
struct Walk: ParsableCommand {
    @Argument var path: String

    func run() throws {
        let fs = RealFileSystem()
        var pending = [FilePath(path)]
        var files = 0
        var directories = 0
        while let directory = pending.popLast() {
            for name in try fs.listDirectory(directory) {
                let child = directory.appending(name)
                var info = stat()
                guard child.withPlatformString({ lstat($0, &info) }) == 0 else { continue }
                if (info.st_mode & S_IFMT) == S_IFDIR { directories += 1; pending.append(child) } else { files += 1 }
            }
        }
        TestHelper.say("\(files) files in \(directories) folders")
    }
}

/// Inserts keys `k<from>`, `k<from+1>`, … into a key ledger, printing `acked <i>` once each is durable, until killed.
struct Append: ParsableCommand {
    @Option var path: String
    @Option var from: Int = 0

    func run() throws {
        let ledger = try KeyLedger.open(at: FilePath(path))
        var i = from
        while true {
            try ledger.insert(RecordKey("k\(i)"))
            TestHelper.say("acked \(i)")
            i += 1
        }
    }
}

/// Allocates (and touches) memory in 16 MB steps, checking a MemoryLimit after each, until the limit trips.
struct Allocate: ParsableCommand {
    @Option(help: "Limit in MB.") var limitMB: Int64

    func run() throws {
        let limit = MemoryLimit(bytes: limitMB * 1_000_000)
        var blocks: [[UInt8]] = []
        do {
            while blocks.count < 1000 {
                blocks.append([UInt8](repeating: 1, count: 16_000_000))
                try limit.check()
            }
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

/// Allocates and touches `--mb` MB, says so, and keeps it until killed (a memory-hungry item command).
struct Hog: ParsableCommand {
    @Option var mb: Int

    func run() throws {
        let block = [UInt8](repeating: 1, count: mb * 1_000_000)
        FileHandle.standardOutput.write(Data("allocated \(block.count)\n".utf8))  // unbuffered
        Thread.sleep(forTimeInterval: 120)
        print(block[block.count / 2])
    }
}

/// Runs work that stalls and ignores cancellation (a blocking sleep) under a watchdog that exits with code 7.
struct Stall: AsyncParsableCommand {
    @Option var timeout: Double
    @Option var grace: Double

    func run() async throws {
        let tracker = ProgressTracker(total: 10)
        tracker.mark(completed: 2)
        let watchdog = StallWatchdog(
            tracker: tracker, timeout: .milliseconds(Int(timeout * 1000)), grace: .milliseconds(Int(grace * 1000)),
            escalation: .exitProcess(code: 7))
        _ = try await watchdog.run {
            usleep(3_600_000_000 / 1000 * 1000)  // blocks the thread, deaf to cancellation
            return 0
        }
    }
}
