import Foundation
import GRDB
import Testing

/// The SQLite database as a `durable-resume` user meets it: a typo in `--db`, a file that is not a database, a
/// folder that does not exist, and commands that run at the same moment on a database being created.
@Suite("durable-resume: the SQLite database as users meet it", .inATestSlot)
struct DurableResumeStoreTests {
    @Test("status and list on a database that does not exist say 'no such database', exit 1, and create nothing",
          arguments: [["status", "--db", "typo.db"], ["list", "--db", "typo.db"], ["status", "--db", "typo.db", "--json"],
                      ["status", "--db", "typo.db", "--run-id", "abc"], ["list", "--db", "typo.db", "--json"]])
    func readOnlyCommandsCreateNothing(arguments: [String]) async throws {
        let dir = TemporaryDirectory()
        let result = try await ResumeCLI.run(arguments, in: dir.path.string)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("no such database: typo.db"), "\(result.stderr)")
        #expect(dir.names.isEmpty, "created \(dir.names)")
    }

    @Test("an existing store's status creates no file but its WAL's, and does not change the schema")
    func statusOnAnExistingStore() async throws {
        let f = ResumeFixture(count: 3)
        let start = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", "cat", "--quiet"], in: f.dir)
        #expect(start.status == 0, "\(start.stderr)")
        let before = Set(f.directory.names)
        let status = try await ResumeCLI.run(["status", "--db", f.db], in: f.dir)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("completed"))
        let created = Set(f.directory.names).subtracting(before)
        #expect(created.isSubset(of: ["runs.sqlite-wal", "runs.sqlite-shm"]), "\(created)")
    }

    @Test("a store error names the database and says what to do: a folder that does not exist, a file that is not a database")
    func errorsNameTheDatabase() async throws {
        let f = ResumeFixture(count: 3)
        let inMissingFolder = "\(f.dir)/no-such-folder/runs.sqlite"
        let start = try await ResumeCLI.run(
            ["start", "--db", inMissingFolder, "--source", f.csv, "--id", "id", "--command", "cat", "--quiet"], in: f.dir)
        #expect(start.status == 1)
        #expect(start.stderr.contains(inMissingFolder), "\(start.stderr)")
        #expect(start.stderr.contains("folder"), "says what to check: \(start.stderr)")

        let text = "\(f.dir)/notes.txt"
        writeRaw(String(repeating: "these are notes, not a database\n", count: 200), to: .init(text))
        for arguments in [
            ["status", "--db", text], ["list", "--db", text],
            ["ingest", "--db", text, "--source", f.csv, "--id", "id"],
            ["start", "--db", text, "--source", f.csv, "--id", "id", "--command", "cat", "--quiet"],
        ] {
            let result = try await ResumeCLI.run(arguments, in: f.dir)
            #expect(result.status == 1, "\(arguments[0]): \(result.stderr)")
            #expect(result.stderr.contains(text), "\(arguments[0]) names the file: \(result.stderr)")
            #expect(result.stderr.contains("not an SQLite database"), "\(arguments[0]): \(result.stderr)")
        }
        #expect(readText(.init(text)).hasPrefix("these are notes"), "the file is left as it was")
    }

    @Test("start, ingest and status at once on a fresh database: the schema is set up once, under the writer's lock; status never migrates")
    func schemaSetUpRace() async throws {
        for round in 0..<12 {
            let f = ResumeFixture(count: 5)
            let start = try ResumeCLI(
                ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", "cat", "--quiet"], in: f.dir)
            let ingest = try ResumeCLI(["ingest", "--db", f.db, "--source", f.csv, "--id", "id"], in: f.dir)
            let status = try ResumeCLI(["status", "--db", f.db], in: f.dir)
            let codes = (await start.wait(), await ingest.wait(), await status.wait())
            #expect(codes.0 == 0, "round \(round): start: \(start.stderr)")
            #expect(codes.1 == 0, "round \(round): ingest: \(ingest.stderr)")
            #expect(!status.stderr.contains("SQLite error"), "round \(round): status: \(status.stderr)")
            if codes.2 != 0 {
                let honest = ["no such database", "not set up yet", "there are no runs"].contains { status.stderr.contains($0) }
                #expect(codes.2 == 1 && honest, "round \(round): status exited \(codes.2): \(status.stderr)")
            }
            // The same file ingested twice at once is one source version.
            let versions = try f.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sources") }
            #expect(versions == 1, "round \(round)")
        }
    }
}
