import DurableIO
import Foundation
import SystemPackage

/// Recovery of a large key ledger: DurableIO's fast path, Foundation's decoders, and the seed's Python loader.
enum RecoveryBenchmark {
    struct KeyLine: Codable { var key: RecordKey }
    struct ClipEntry: Codable, Sendable { var clip: String }

    /// Writes `count` lines like `{"key":"clip_000017.mp4"}` (and the generic form `{"clip":…}`).
    static func makeLedger(_ path: FilePath, field: String, count: Int) {
        var text = ""
        text.reserveCapacity(count * 30)
        for i in 0..<count { text += "{\"\(field)\":\"clip_\(String(format: "%06d", i)).mp4\"}\n" }
        try! Data(text.utf8).write(to: URL(fileURLWithPath: path.string))
    }

    /// Time to have the key set in hand (its deallocation, which a job pays at exit if ever, is not counted).
    static func fastPath(_ path: FilePath) throws -> (seconds: Double, keys: Int) {
        var keys = RecordKeySet()
        let seconds = try time { keys = try KeyLedger.recover(at: path).keys }
        return (seconds, keys.count)
    }

    static func foundationDecoder(_ path: FilePath) throws -> Double {
        let data = try Data(contentsOf: URL(fileURLWithPath: path.string))
        return try time {
            let decoder = JSONDecoder()
            var set = Set<RecordKey>()
            for line in data.split(separator: 0x0A) { set.insert(try decoder.decode(KeyLine.self, from: line).key) }
            precondition(!set.isEmpty)
        }
    }

    static func foundationSerialization(_ path: FilePath) throws -> Double {
        let data = try Data(contentsOf: URL(fileURLWithPath: path.string))
        return try time {
            var set = Set<String>()
            for line in data.split(separator: 0x0A) {
                let object = try JSONSerialization.jsonObject(with: line) as! [String: Any]
                set.insert(object["key"] as! String)
            }
            precondition(!set.isEmpty)
        }
    }

    static func genericLedger(_ path: FilePath) throws -> Double {
        try time {
            let entries = try Ledger<ClipEntry>.recover(at: path).entries
            precondition(!entries.isEmpty)
        }
    }

    /// One recovery in a new process of this benchmark (`recover-once`), as a job pays it at start.
    static func freshProcess(_ path: FilePath) -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = ["recover-once", "--path", path.string]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Double(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The seed's loader: `json.loads` per line into a set, timed inside Python (interpreter start excluded).
    static func python(_ path: FilePath) -> Double? {
        let script = """
            import json, sys, time
            t = time.perf_counter()
            done = set()
            with open(sys.argv[1]) as f:
                for line in f:
                    done.add(json.loads(line)["key"])
            print(time.perf_counter() - t)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path.string]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Double(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
