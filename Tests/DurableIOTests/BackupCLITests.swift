import Foundation
import GRDB
import SystemPackage
import Testing

/// `--backup` in durable-resume and durable-backfill, through the built binaries.
@Suite("--backup before a run continues (built binaries)", .inATestSlot)
struct BackupCLITests {
    /// The backups of `db` in `dir`, by name.
    static func backups(of db: String, in dir: TemporaryDirectory) -> [String] {
        dir.names.filter { $0.hasPrefix(db + ".") && $0.hasSuffix(".backup") && !$0.contains("decoy") }
    }

    static func count(_ path: String, _ sql: String) throws -> Int {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try Int.fetchOne(db, sql: sql)! }
    }

    static func integrity(_ path: String) throws -> String {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check")! }
    }

    @Test("resume --backup: a copy of the database as it was before the resume, beside it; --keep-backups prunes only its own files")
    func resumeBacksUpFirst() async throws {
        let f = ResumeFixture(count: 6, failEvery: 3)
        let start = try await ResumeCLI.run(["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(failing: true), "--quiet"], in: f.dir)
        #expect(start.status == 1, "\(start.stderr)")
        let id = String(try #require(start.stdout.split(separator: "\n").first).dropFirst(4))
        for name in ["runs.sqlite.decoy.backup", "runs.sqlite.20200101T000000.000Z.backup.keep", "other.sqlite.20200101T000000.000Z.backup"] {
            writeRaw("not a backup of runs.sqlite", to: f.directory.file(name))
        }
        f.touch("fixed")
        let resume = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--retry-errors-only", "--backup", "--quiet"], in: f.dir)
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(resume.stderr.contains("backup: \(f.dir)/runs.sqlite."), "\(resume.stderr)")
        let first = try #require(Self.backups(of: "runs.sqlite", in: f.directory).first)
        let copy = "\(f.dir)/\(first)"
        #expect(try Self.count(copy, "SELECT count(*) FROM results WHERE error_occurred = 1") == 2, "the copy is from before the resume")
        #expect(try Self.count(f.db, "SELECT count(*) FROM results WHERE error_occurred = 1") == 0)
        #expect(try Self.integrity(copy) == "ok")

        let completed = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--backup", "--quiet"], in: f.dir)
        #expect(completed.status == 5, "\(completed.stderr)")
        #expect(completed.stderr.contains("backup: skipped, run \(id) is already completed"), "\(completed.stderr)")
        #expect(Self.backups(of: "runs.sqlite", in: f.directory) == [first], "a no-op resume rotates nothing out")

        // A second run whose items keep failing: each resume continues it, after a backup.
        try FileManager.default.removeItem(atPath: "\(f.dir)/fixed")
        let failing = try await ResumeCLI.run(["start", "--db", f.db, "--source", f.csv, "--command", f.command(failing: true), "--quiet"], in: f.dir)
        let id2 = String(try #require(failing.stdout.split(separator: "\n").first).dropFirst(4))
        for _ in 0..<3 {
            let again = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id2, "--retry-errors-only", "--backup", "--keep-backups", "2", "--quiet"], in: f.dir)
            #expect(again.status == 1, "the items fail again, after the backup: \(again.stderr)")
            #expect(again.stderr.contains("backup: "), "\(again.stderr)")
        }
        let kept = Self.backups(of: "runs.sqlite", in: f.directory)
        #expect(kept.count == 2, "\(kept)")
        #expect(!kept.contains(first), "the oldest were removed")
        for name in ["runs.sqlite.decoy.backup", "runs.sqlite.20200101T000000.000Z.backup.keep", "other.sqlite.20200101T000000.000Z.backup"] {
            #expect(f.directory.names.contains(name), "\(name) does not match the naming pattern: kept")
        }

        let elsewhere = TemporaryDirectory()
        let dirRun = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id2, "--backup-dir", elsewhere.path.string, "--quiet"], in: f.dir)
        #expect(dirRun.status == 1, "\(dirRun.stderr)")
        #expect(Self.backups(of: "runs.sqlite", in: elsewhere).count == 1, "--backup-dir implies --backup: \(elsewhere.names)")
    }

    @Test("start --backup: a new database has nothing to back up (noted); an existing one is copied first")
    func startBacksUpAnExistingDatabase() async throws {
        let f = ResumeFixture(count: 3)
        let fresh = try await ResumeCLI.run(["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(), "--backup", "--quiet"], in: f.dir)
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stderr.contains("does not exist yet: nothing to back up"), "\(fresh.stderr)")
        #expect(Self.backups(of: "runs.sqlite", in: f.directory).isEmpty)
        let second = try await ResumeCLI.run(["start", "--db", f.db, "--source", f.csv, "--command", f.command(), "--backup", "--quiet"], in: f.dir)
        #expect(second.status == 0, "\(second.stderr)")
        let copy = try #require(Self.backups(of: "runs.sqlite", in: f.directory).first)
        #expect(try Self.count("\(f.dir)/\(copy)", "SELECT count(*) FROM runs") == 1, "the copy holds the first run only")
    }

    @Test("a PostgreSQL store: --backup is refused before anything is opened (usage, 64), pointing to pg_dump")
    func postgresRefused() async throws {
        let f = ResumeFixture(count: 1)
        for arguments in [["resume", "--latest"], ["start", "--source", f.csv, "--command", "cat"]] {
            let refused = try await ResumeCLI.run(arguments + ["--store", "postgres://nobody@127.0.0.1:1/none", "--backup"], in: f.dir)
            #expect(refused.status == 64, "\(refused.stderr)")
            #expect(refused.stderr.contains("pg_dump"), "\(refused.stderr)")
        }
    }

    @Test("the disk preflight counts the backup: a copy that would leave less than --min-free-disk exits 6 with the numbers, before any item (a 64 MB tmpfs)")
    func preflightCountsTheBackup() async throws {
        let f = ResumeFixture(count: 4)
        let disk = f.directory.file("disk")
        guard let unmount = GuardrailExitTests.smallDisk(at: disk) else {
            print("skipped: cannot mount a tmpfs here (needs root)")
            return
        }
        defer { unmount() }
        let db = disk.appending("runs.sqlite").string
        let start = try await ResumeCLI.run(["start", "--db", db, "--source", f.csv, "--id", "id", "--command", "exit 1", "--min-free-disk", "1M", "--quiet"], in: f.dir)
        #expect(start.status == 1, "\(start.stderr)")
        let id = String(try #require(start.stdout.split(separator: "\n").first).dropFirst(4))
        let queue = try DatabaseQueue(path: db)  // about 20 MB more: the backup needs that much again
        try await queue.write { db in
            try db.execute(sql: "CREATE TABLE padding (data BLOB)")
            for _ in 0..<20 { try db.execute(sql: "INSERT INTO padding VALUES (randomblob(1000000))") }
        }
        try queue.close()
        // About 40 MB free: above a 30 MB reserve, but not once the ~20 MB copy is counted.
        let refused = try await ResumeCLI.run(["resume", "--db", db, "--run-id", id, "--backup", "--min-free-disk", "30M", "--quiet"], in: f.dir)
        #expect(refused.status == 6, "\(refused.stderr)")
        #expect(refused.stderr.contains("the backup of \(db) needs about 2"), "\(refused.stderr)")
        #expect(refused.stderr.contains("below the 31 MB reserve"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was copied and no item was started"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(f.dir)/calls.log"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: disk.string)) ?? []).allSatisfy { !$0.contains("backup") })
        let fits = try await ResumeCLI.run(["resume", "--db", db, "--run-id", id, "--backup", "--min-free-disk", "5M", "--quiet"], in: f.dir)
        #expect(fits.status == 1, "the items fail again (exit 1), after the backup: \(fits.stderr)")
        #expect(fits.stderr.contains("backup: \(db)."), "\(fits.stderr)")
    }

    @Test("durable-backfill run --backup: the copy holds the table as it was before the backfill rewrote it")
    func backfillBacksUpFirst() async throws {
        let dir = TemporaryDirectory()
        let app = dir.file("app.db")
        try Incident.make(app, transmissions: 300, withoutObservations: 30, wal: true)
        let zeros = try Self.count(app.string, "SELECT count(*) FROM transmissions WHERE last_seen = 0")
        let backfill = ChildProcess.built("durable-backfill")
        let run = await CLIRun(backfill, [
            "run", "--db", app.string, "--name", "b1", "--table", "transmissions", "--key", "id", "--set", Incident.set,
            "--where", Incident.predicate, "--backup", "--quiet",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("backup: \(app.string)."), "\(run.stderr)")
        let copy = try #require(Self.backups(of: "app.db", in: dir).first)
        #expect(try Self.count(dir.file(copy).string, "SELECT count(*) FROM transmissions WHERE last_seen = 0") == zeros)
        #expect(try Self.count(app.string, "SELECT count(*) FROM transmissions WHERE last_seen = 0") < zeros, "the backfill rewrote the live table")
        let resume = await CLIRun(backfill, ["resume", "--db", app.string, "--name", "b1", "--backup-dir", dir.path.string, "--keep-backups", "1"])
        #expect(resume.status == 5, "\(resume.stderr)")
        #expect(resume.stderr.contains("backup: skipped, 'b1' is already completed"), "\(resume.stderr)")
        #expect(Self.backups(of: "app.db", in: dir) == [copy], "a no-op resume rotates nothing out: \(dir.names)")
    }
}
