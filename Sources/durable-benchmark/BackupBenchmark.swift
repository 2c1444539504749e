import ArgumentParser
import DurableIO
import DurableSQLite
import Foundation

/// How long `--backup` takes on a large database and how long a concurrent writer's commits stall meanwhile, in
/// WAL mode and in rollback-journal (`DELETE`) mode: the figures `--help` and `Documentation/Backups.md` quote.
///
/// The database has the incident's shape (`transmissions`, `observations` and its index), made by the sqlite3 CLI;
/// the writer is `Scripts/sqlite-writer.py` in its own process (one small `synchronous=FULL` commit every 5 ms). The
/// two modes are interleaved in rounds, and medians reported. The copy itself is SQLite's C code, so a debug build
/// measures it as well as a release build does.
struct BackupBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Time --backup on a large database, and a concurrent writer's stall, in WAL and rollback-journal mode.")

    @Option(help: "Directory for the database and its backups (about twice --transmissions × 350 bytes).")
    var dir: String = FileManager.default.temporaryDirectory.path

    @Option(help: "Rows of transmissions (observations: three times as many); 1,500,000 makes about 500 MB.")
    var transmissions: Int = 1_500_000

    @Option(help: "Interleaved rounds per mode.")
    var rounds: Int = 3

    @Option(help: "The writer script.")
    var writer: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Scripts/sqlite-writer.py").path

    struct Round {
        var mode: String
        var seconds: Double
        var bytes: Int64
        /// The longest any commit overlapping the copy took.
        var longestCommit: Double
        /// Commits that began and ended while the copy ran.
        var commitsDuring: Int
        /// The writer's median commit before the copy.
        var baselineCommit: Double
    }

    func run() throws {
        let folder = "\(dir)/durable-backup-benchmark-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: "\(folder)/backups", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let db = "\(folder)/incident.db"
        let build = try time { try Self.sqlite(db, Self.incidentSQL(transmissions: transmissions)) }
        let size = (try FileManager.default.attributesOfItem(atPath: db)[.size] as? Int64) ?? 0
        print("incident database: \(MemoryUsage.format(size)) (\(transmissions) transmissions, \(transmissions * 3) observations), built in \(String(format: "%.1f", build)) s")

        var results: [Round] = []
        for round in 0..<rounds {
            for mode in round % 2 == 0 ? ["wal", "delete"] : ["delete", "wal"] {
                let r = try measure(db: db, folder: folder, mode: mode)
                print("round \(round + 1) \(mode): copy \(milliseconds(r.seconds)), longest commit \(milliseconds(r.longestCommit)), \(r.commitsDuring) commits during the copy, baseline commit \(milliseconds(r.baselineCommit))")
                results.append(r)
            }
        }
        print("")
        print("| mode | database | copy (median) | longest writer commit during the copy (median) | commits completed during the copy (median) | writer's commit otherwise (median) |")
        print("|---|---|---|---|---|---|")
        for mode in ["wal", "delete"] {
            let rs = results.filter { $0.mode == mode }
            print("| \(mode == "wal" ? "WAL" : "rollback journal (DELETE)") | \(MemoryUsage.format(rs.map(\.bytes).max() ?? 0)) | \(milliseconds(rs.map(\.seconds).median)) | \(milliseconds(rs.map(\.longestCommit).median)) | \(Int(rs.map { Double($0.commitsDuring) }.median)) | \(milliseconds(rs.map(\.baselineCommit).median)) |")
        }
    }

    func measure(db: String, folder: String, mode: String) throws -> Round {
        try Self.sqlite(db, "PRAGMA journal_mode = \(mode);")
        let log = "\(folder)/writer.log", stop = "\(folder)/writer.stop"
        try? FileManager.default.removeItem(atPath: stop)
        try? FileManager.default.removeItem(atPath: log)  // a previous round's commits must not count
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", writer, db, log, stop, "0.005"]
        try process.run()
        func commits() -> [(start: Double, end: Double)] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ").compactMap { Double($0) }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }
        }
        func waitFor(_ count: Int) throws {
            let deadline = Date().addingTimeInterval(300)
            while commits().count < count {
                guard process.isRunning, Date() < deadline else { throw ValidationError("the writer stopped committing") }
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        try waitFor(50)
        let backup = try DatabaseBackup.make(of: FilePath(db), options: .init(directory: FilePath("\(folder)/backups"), keep: 1))
        try waitFor(commits().count + 20)
        _ = FileManager.default.createFile(atPath: stop, contents: nil)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: backup.path.string)
        let all = commits()
        let start = backup.takenAt.timeIntervalSince1970, end = start + backup.seconds
        let overlapping = all.filter { $0.end > start && $0.start < end }
        return Round(
            mode: mode, seconds: backup.seconds, bytes: backup.bytes,
            longestCommit: overlapping.map { $0.end - $0.start }.max() ?? 0,
            commitsDuring: all.filter { $0.start > start && $0.end < end }.count,
            baselineCommit: all.filter { $0.end < start }.map { $0.end - $0.start }.median)
    }

    /// The incident's tables at scale, by the sqlite3 CLI.
    static func incidentSQL(transmissions n: Int) -> String {
        """
        PRAGMA journal_mode = DELETE;
        PRAGMA synchronous = OFF;
        \(IncidentDatabase.tables)
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < \(n))
        INSERT INTO transmissions SELECT x, hex(randomblob(8)), 1600000000 + x, 0, hex(randomblob(60)) FROM c;
        WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < \(n * 3 - 1))
        INSERT INTO observations (transmission_id, observer, snr, timestamp)
        SELECT abs(random()) % \(n) + 1, 'observer-' || (x % 37), (x % 40) / 4.0, 1600000000 + x FROM c;
        CREATE INDEX idx_observations_transmission ON observations(transmission_id);
        CREATE TABLE writes (id INTEGER PRIMARY KEY, at REAL NOT NULL);
        CREATE TABLE meta (n INTEGER NOT NULL);
        INSERT INTO meta VALUES (0);
        """
    }

    static func sqlite(_ db: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", db]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(sql.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("sqlite3 failed on \(db)") }
    }
}
