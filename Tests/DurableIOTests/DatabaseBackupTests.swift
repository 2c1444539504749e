import DurableIO
@testable import DurableSQLite
import Foundation
import GRDB
import Testing

/// A database of about `megabytes` MB in `mode` (`wal` or `delete`), made by the sqlite3 CLI (fast), with the
/// writer's tables (`writes`, `meta`) ready.
func makeLargeDatabase(_ path: FilePath, megabytes: Int, mode: String) throws {
    let rows = megabytes * 1_000
    let sql = """
        PRAGMA journal_mode = \(mode);
        PRAGMA synchronous = OFF;
        CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < \(rows))
        INSERT INTO blobs SELECT x, randomblob(1000) FROM c;
        CREATE TABLE writes (id INTEGER PRIMARY KEY, at REAL NOT NULL);
        CREATE TABLE meta (n INTEGER NOT NULL);
        INSERT INTO meta VALUES (0);
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sqlite3", path.string]
    let input = Pipe()
    process.standardInput = input
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    input.fileHandleForWriting.write(Data(sql.utf8))
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "sqlite3 made the database")
}

/// `Scripts/sqlite-writer.py` running as its own process: one small commit after another until stopped.
final class WriterProcess {
    let process = Process()
    let log: FilePath
    let stopFile: FilePath

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Scripts/sqlite-writer.py").path

    init(database: FilePath, in dir: TemporaryDirectory, pause: Double) throws {
        log = dir.file("writer.log")
        stopFile = dir.file("writer.stop")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script, database.string, log.string, stopFile.string, String(pause)]
        try process.run()
    }

    /// Each commit's (start, end), wall clock.
    var commits: [(start: Double, end: Double)] {
        readText(log).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ").compactMap { Double($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
    }

    /// Waits until the writer has committed `count` times.
    func waitForCommits(_ count: Int) throws {
        let deadline = Date().addingTimeInterval(120)
        while commits.count < count {
            try #require(process.isRunning && Date() < deadline, "the writer commits")
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    func stop() {
        writeRaw("", to: stopFile)
        process.waitUntilExit()
    }
}

/// DatabaseBackup against a real writer in another process: the copy is of one moment, passes
/// `PRAGMA integrity_check`, and in WAL mode never stops the writer (in rollback-journal mode it does: the
/// contrast shows the check can fail).
@Suite("DatabaseBackup: a consistent copy while another process writes", .serialized, .inATestSlot)
struct DatabaseBackupTests {
    struct Observed {
        var backup: DatabaseBackup.Result
        var commits: [(start: Double, end: Double)]
        var rowsInBackup: Int
        var counterInBackup: Int
        var integrity: String
        var backupJournalMode: String
        var liveJournalMode: String

        var window: (start: Double, end: Double) {
            let start = backup.takenAt.timeIntervalSince1970
            return (start, start + backup.seconds)
        }
    }

    /// Makes a database in `mode`, starts the writer, backs up while it commits, stops it, and reads the copy.
    func observe(mode: String, pause: Double) throws -> Observed {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try makeLargeDatabase(db, megabytes: 120, mode: mode)
        let writer = try WriterProcess(database: db, in: dir, pause: pause)
        defer { writer.stop() }
        try writer.waitForCommits(10)
        let backup = try DatabaseBackup.make(of: db, options: .init(directory: dir.path, keep: 1))
        try writer.waitForCommits(writer.commits.count + 10)  // it goes on after the copy too
        writer.stop()
        let copy = try DatabaseQueue(path: backup.path.string)
        defer { try? copy.close() }
        let (rows, counter, integrity, journal) = try copy.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM writes")!, try Int.fetchOne(db, sql: "SELECT n FROM meta")!,
                try String.fetchOne(db, sql: "PRAGMA integrity_check")!, try String.fetchOne(db, sql: "PRAGMA journal_mode")!
            )
        }
        let live = try DatabaseQueue(path: db.string)
        let liveMode = try live.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode")! }
        try live.close()
        return Observed(
            backup: backup, commits: writer.commits, rowsInBackup: rows, counterInBackup: counter, integrity: integrity,
            backupJournalMode: journal, liveJournalMode: liveMode)
    }

    @Test("WAL mode: the writer keeps committing during the copy; the copy is whole and of one moment")
    func walWriterKeepsCommitting() throws {
        let o = try observe(mode: "wal", pause: 0.002)
        let (start, end) = o.window
        let during = o.commits.filter { $0.start > start && $0.end < end }
        #expect(during.count >= 2, "commits begun and ended while the copy ran (\(o.backup.seconds) s): \(during.count)")
        #expect(o.integrity == "ok")
        #expect(o.rowsInBackup == o.counterInBackup, "both tables of one transaction agree: one moment")
        #expect(o.rowsInBackup >= o.commits.filter { $0.end < start }.count, "every commit acknowledged before the copy is in it")
        #expect(o.rowsInBackup <= o.commits.filter { $0.start < end }.count, "no commit begun after the copy is in it")
        #expect(o.rowsInBackup < o.commits.count, "the writer's later commits are not")
        #expect(o.liveJournalMode == "wal", "the database's journal mode is left as it is")
        #expect(o.backupJournalMode == "delete", "the copy is one self-contained file")
    }

    @Test("rollback-journal mode: the copy holds a read lock, so the writer's commit waits for it (the contrast)")
    func rollbackJournalBlocksTheWriter() throws {
        let o = try observe(mode: "delete", pause: 0.02)
        let (start, end) = o.window
        let length = end - start
        let inTheMiddle = o.commits.filter { $0.end > start + 0.3 * length && $0.end < end - 0.3 * length }
        #expect(inTheMiddle.isEmpty, "no commit completes while the copy holds its lock: \(inTheMiddle.count)")
        let longest = o.commits.map { $0.end - $0.start }.max() ?? 0
        #expect(longest >= 0.4 * length, "a commit waited for most of the copy (\(longest) s of \(length) s)")
        #expect(o.integrity == "ok")
        #expect(o.rowsInBackup == o.counterInBackup)
        #expect(o.liveJournalMode == "delete")
    }

    @Test("names: <db>.<UTC timestamp>.backup; only files of exactly that pattern are pruned, the newest N kept")
    func namingAndPruning() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("runs.db")
        try makeLargeDatabase(db, megabytes: 1, mode: "wal")
        #expect(DatabaseBackup.name(of: "runs.db", at: Date(timeIntervalSince1970: 1_796_221_471.123_9)) == "runs.db.20261202T142431.123Z.backup")
        let decoys = [
            "runs.db.old.backup", "runs.db.20261202T141431.123Z.backup.txt", "other.db.20200101T000000.000Z.backup",
            "runs.db.2026120XT141431.123Z.backup", "xruns.db.20200101T000000.000Z.backup",
        ]
        for name in decoys { writeRaw("decoy", to: dir.file(name)) }
        var made: [FilePath] = []
        for second in 0..<4 {
            let result = try DatabaseBackup.make(of: db, options: .init(keep: 2), at: Date(timeIntervalSince1970: 1_796_221_471 + Double(second)))
            made.append(result.path)
            if second >= 2 { #expect(result.removed == [made[second - 2]]) }
        }
        let names = dir.names
        for name in decoys { #expect(names.contains(name), "\(name) is not a backup of runs.db: kept") }
        #expect(names.filter { $0.hasSuffix(".backup") && $0.hasPrefix("runs.db.20261202T") } == made.suffix(2).map { $0.lastComponent!.string })
        #expect(!names.contains { $0.contains("backup-tmp") }, "no temporary file is left: \(names)")
    }

    @Test("a missing database: a clear error, nothing made")
    func missingDatabase() throws {
        let dir = TemporaryDirectory()
        #expect(throws: DurableSQLiteError.self) { try DatabaseBackup.make(of: dir.file("missing.db")) }
        #expect(dir.names.isEmpty, "\(dir.names)")
    }
}
