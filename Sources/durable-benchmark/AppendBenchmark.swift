import DurableIO
import DurableIOTesting
import Foundation
import SystemPackage

/// Durable append latency against a raw `write` + `fdatasync` loop, and group-commit throughput.
enum AppendBenchmark {
    static let line = Array(#"{"key":"clip_000017.mp4"}"#.utf8) + [0x0A]

    /// One raw append: the machine's limit.
    static func rawLoop(_ path: String, count: Int) -> Double {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        precondition(fd >= 0)
        defer { close(fd) }
        return time {
            for _ in 0..<count {
                _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                precondition(fdatasync(fd) == 0)
            }
        } / Double(count)
    }

    /// One durable append through the seam and the ledger.
    static func ledgerLoop(_ path: FilePath, count: Int, round: Int) throws -> Double {
        let ledger = try KeyLedger.open(at: path)
        defer { try? ledger.close() }
        return try time {
            for i in 0..<count { try ledger.insert(RecordKey("clip_\(round)_\(i).mp4")) }
        } / Double(count)
    }

    /// Median latencies, and the median of the per-round ratios (each round's pair ran back to back).
    static func latency(in dir: FilePath, rounds: Int, perRound: Int) throws -> (raw: Double, ledger: Double, ratio: Double) {
        var raw: [Double] = []
        var durable: [Double] = []
        for round in 0..<rounds {
            // Interleave, alternating which goes first, so drift in the disk hits both alike.
            let rawPath = dir.appending("raw-\(round).jsonl").string
            let ledgerPath = dir.appending("ledger-\(round).jsonl")
            if round % 2 == 0 {
                raw.append(rawLoop(rawPath, count: perRound))
                durable.append(try ledgerLoop(ledgerPath, count: perRound, round: round))
            } else {
                durable.append(try ledgerLoop(ledgerPath, count: perRound, round: round))
                raw.append(rawLoop(rawPath, count: perRound))
            }
        }
        let ratios = zip(durable, raw).map { $0 / $1 }
        return (raw.median, durable.median, ratios.median)
    }

    /// Appends per second, and appends per `fdatasync` (how many one sync covered), of one group-commit run.
    struct Throughput {
        var perSecond: Double
        var perSync: Double
    }

    /// `writers` concurrent async tasks, each appending `each` keys. The syncs are counted through the seam
    /// (`FaultInjectingFileSystem` with no fault: one lock and one record per call, the same for every variant).
    static func throughput(_ path: FilePath, writers: Int, each: Int) async throws -> Throughput {
        let fileSystem = FaultInjectingFileSystem()
        let ledger = try KeyLedger.open(at: path, fileSystem: fileSystem)
        fileSystem.clearCalls()
        let start = now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for i in 0..<each { try await ledger.insert(RecordKey("w\(w)-\(i)")) }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = now() - start
        try ledger.close()
        return Throughput(perSecond: Double(writers * each) / elapsed, perSync: perSync(writers * each, fileSystem))
    }

    /// `writers` threads (real ones, not a pool capped at the core count) calling the blocking `insert`.
    static func threadThroughput(_ path: FilePath, writers: Int, each: Int) throws -> Throughput {
        let fileSystem = FaultInjectingFileSystem()
        let ledger = try KeyLedger.open(at: path, fileSystem: fileSystem)
        fileSystem.clearCalls()
        let group = DispatchGroup()
        let elapsed = time {
            for w in 0..<writers {
                group.enter()
                Thread {
                    for i in 0..<each { try! ledger.insert(RecordKey("t\(w)-\(i)")) }
                    group.leave()
                }.start()
            }
            group.wait()
        }
        try ledger.close()
        return Throughput(perSecond: Double(writers * each) / elapsed, perSync: perSync(writers * each, fileSystem))
    }

    private static func perSync(_ appends: Int, _ fileSystem: FaultInjectingFileSystem) -> Double {
        Double(appends) / Double(max(1, fileSystem.calls.filter { $0.operation == .fdatasync }.count))
    }
}
