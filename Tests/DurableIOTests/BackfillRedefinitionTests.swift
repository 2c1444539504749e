import DurableIO
import DurableSQLite
import Foundation
import GRDB
import SystemPackage
import Testing

/// durable-backfill's definitions as operators get them wrong: a `--set` that renumbers the keys, the same `--name`
/// given a new definition, a typo that failed the first batch; and the read-only commands on a database that is
/// missing or left with a hot rollback journal by a crash.
@Suite("durable-backfill: definitions, --replace, and read-only commands", .inATestSlot)
struct BackfillRedefinitionTests {
    static let name = BackfillCLITests.name

    static func run(_ db: FilePath, set: String = Incident.set, where predicate: String = Incident.predicate, key: String = "id",
                    name: String = BackfillRedefinitionTests.name, _ extra: [String] = []) async throws -> (status: Int32, output: String) {
        try await ChildProcess.backfill(
            ["run", "--db", db.string, "--name", name, "--table", "transmissions", "--key", key, "--set", set,
             "--where", predicate, "--quiet"] + extra)
    }

    @Test("a --set that assigns the key column (or an alias of the rowid) is refused; nothing is changed or recorded",
          arguments: [("id", "id = id + 1000000"), ("id", "last_seen = 1, id = -id"), ("rowid", "id = id + 1"),
                      ("id", "rowid = rowid + 5"), ("id", "(last_seen, \"ID\") = (1, 2)")])
    func keyAssignmentRefused(key: String, set: String) async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 50, withoutObservations: 0)
        let before = try Incident.rows(db)
        let result = try await Self.run(db, set: set, where: "1", key: key)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("assigns the key"), "\(result.output)")
        #expect(try Incident.rows(db) == before)
        #expect(try Backfill.list(in: db.string).isEmpty)
    }

    @Test("the same --name with another --set or --where is refused with the difference shown; the same definition is 'already completed' (5)")
    func changedDefinitionRefused() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 300, withoutObservations: 30)
        let first = try await Self.run(db)
        #expect(first.status == 0, "\(first.output)")
        let same = try await Self.run(db)
        #expect(same.status == 5, "\(same.output)")
        #expect(same.output.contains("already completed"))

        let otherWhere = try await Self.run(db, where: "last_seen = 7")
        #expect(otherWhere.status == 1, "\(otherWhere.output)")
        #expect(otherWhere.output.contains("--where: recorded 'last_seen = 0', given 'last_seen = 7'"), "\(otherWhere.output)")
        #expect(otherWhere.output.contains("choose a new --name"), "\(otherWhere.output)")
        #expect(!otherWhere.output.contains("already completed"))

        let otherSet = try await Self.run(db, set: "last_seen = 1")
        #expect(otherSet.status == 1, "\(otherSet.output)")
        #expect(otherSet.output.contains("--set: recorded '\(Incident.set)', given 'last_seen = 1'"), "\(otherSet.output)")
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE last_seen = 1") == 0)
        let record = try #require(try Backfill.status(named: Self.name, in: db.string))
        #expect(record.definition.setClause == Incident.set, "the recorded definition is left as it was")
    }

    @Test("a backfill that failed on a typo before changing any row is redefined with run --replace; the hint says so")
    func replaceAfterTypo() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 400, withoutObservations: 40)
        let reference = dir.file("reference.db")
        try Incident.oneShot(copyOf: db, to: reference)
        let typo = Incident.set.replacingOccurrences(of: "FROM observations", with: "FROM observation")
        let failed = try await Self.run(db, set: typo)
        #expect(failed.status == 1, "\(failed.output)")
        #expect(failed.output.contains("no such table: observation"))
        #expect(failed.output.contains("--replace"), "the hint says a fixed definition can replace it: \(failed.output)")

        let withoutReplace = try await Self.run(db)
        #expect(withoutReplace.status == 1, "\(withoutReplace.output)")
        #expect(withoutReplace.output.contains("--set: recorded '\(typo)', given '\(Incident.set)'"), "\(withoutReplace.output)")
        #expect(withoutReplace.output.contains("--replace"), "\(withoutReplace.output)")

        let replaced = try await Self.run(db, ["--replace"])
        #expect(replaced.status == 0, "\(replaced.output)")
        #expect(try Incident.rows(db) == Incident.rows(reference))
        let record = try #require(try Backfill.status(named: Self.name, in: db.string))
        #expect(record.status == .completed && record.definition.setClause == Incident.set)
    }

    @Test("run --replace of a backfill that changed rows is refused: choose a new --name")
    func replaceRefusedAfterChanges() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 1_000, withoutObservations: 100)
        try Incident.execute(db, """
            CREATE TRIGGER injected BEFORE UPDATE OF last_seen ON transmissions WHEN NEW.id = 777
            BEGIN SELECT RAISE(ABORT, 'injected failure at 777'); END
            """)
        let failed = try await Self.run(db, ["--batch-size", "50", "--nice-ratio", "0"])
        #expect(failed.status == 1, "\(failed.output)")
        #expect(!failed.output.contains("--replace"), "it changed rows: replacing is not offered: \(failed.output)")
        let changedBefore = try #require(try Backfill.status(named: Self.name, in: db.string)).changedRows
        #expect(changedBefore > 0)

        let replace = try await Self.run(db, set: "last_seen = 1", ["--replace"])
        #expect(replace.status == 1, "\(replace.output)")
        #expect(replace.output.contains("choose a new --name"), "\(replace.output)")
        let record = try #require(try Backfill.status(named: Self.name, in: db.string))
        #expect(record.definition.setClause == Incident.set && record.changedRows == changedBefore)
    }

    @Test("status and list on a database that does not exist: 'no such database', exit 1, nothing created",
          arguments: [["status", "--db", "typo.db"], ["list", "--db", "typo.db"], ["status", "--db", "typo.db", "--name", "x"]])
    func readOnlyCommandsOnAMissingDatabase(arguments: [String]) async throws {
        let dir = TemporaryDirectory()
        let child = try ChildProcess(ChildProcess.backfill, arguments.map { $0 == "typo.db" ? dir.file("typo.db").string : $0 })
        let status = await child.wait()
        #expect(status == 1, "\(child.text)")
        #expect(child.text.contains("no such database: \(dir.file("typo.db").string)"), "\(child.text)")
        #expect(dir.names.isEmpty, "created \(dir.names)")
    }

    @Test("status and list after a crash left a hot rollback journal: 'needs recovery', naming the resume command; resume recovers")
    func hotJournal() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        let name = "pad_v1"
        try Incident.execute(db, "CREATE TABLE transmissions (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, last_seen INTEGER NOT NULL DEFAULT 0)")
        try Incident.execute(db, """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150000)
            INSERT INTO transmissions (id, hash) SELECT i, printf('%0120d', i) FROM n
            """)
        let journal = db.string + "-journal"
        // One big batch in rollback-journal mode, killed once its journal passed the page cache (2 MB): SQLite has
        // synced the journal and written changed pages into the database, so the journal is hot.
        var hot = false
        for _ in 0..<5 where !hot {
            let child = try ChildProcess(ChildProcess.backfill, [
                "run", "--db", db.string, "--name", name, "--table", "transmissions", "--key", "id",
                "--set", "hash = hash || 'x'", "--batch-size", "1000000", "--quiet",
            ])
            // Up to 3 minutes to get there: a loaded CI machine took longer than 30 s (three tries, no hot journal).
            let killed = await child.send(SIGKILL, when: {
                ((try? FileManager.default.attributesOfItem(atPath: journal))?[.size] as? NSNumber)?.intValue ?? 0 > 6 << 20
            }, timeout: 180)
            await child.wait()
            hot = killed && FileManager.default.fileExists(atPath: journal)
            if !hot { _ = try? await ChildProcess.backfill(["resume", "--db", db.string, "--name", name, "--quiet"]) }
        }
        try #require(hot, "no hot journal was left")
        let resume = "durable-backfill resume --db \(db.string) --name \(name)"
        for arguments in [["status", "--db", db.string], ["status", "--db", db.string, "--name", name], ["list", "--db", db.string]] {
            let result = try await ChildProcess.backfill(arguments)
            #expect(result.status == 1, "\(arguments[0]): \(result.output)")
            #expect(result.output.contains("needs recovery after a crash"), "\(arguments[0]): \(result.output)")
            #expect(result.output.contains(resume), "\(arguments[0]): \(result.output)")
            #expect(!result.output.contains("readonly database"), "\(arguments[0]): \(result.output)")
        }
        #expect(FileManager.default.fileExists(atPath: journal), "a read-only command does not recover")

        let resumed = try await ChildProcess.backfill(["resume", "--db", db.string, "--name", name, "--quiet"])
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(try Incident.int(db, "SELECT count(*) FROM transmissions WHERE hash NOT LIKE '%x' OR hash LIKE '%xx'") == 0)
        let status = try await ChildProcess.backfill(["status", "--db", db.string, "--name", name])
        #expect(status.status == 0 && status.output.contains("completed"), "\(status.output)")
    }
}
