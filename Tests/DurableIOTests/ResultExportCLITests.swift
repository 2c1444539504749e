import Foundation
import GRDB
import SystemPackage
import Testing

/// `durable-resume export`, through the built binary: a run with successes and failures written as JSON Lines and
/// as CSV (read back by Python's csv module), the atomic replace of a file already there, an unknown run, counts
/// that disagree, and a PostgreSQL store.
@Suite("durable-resume export (built binary)", .inATestSlot)
struct ResultExportCLITests {
    /// A result with commas, quotes and newlines (the command prints pretty JSON over three lines).
    static let prettyResult = "{\n  \"text\": \"a, \\\"quoted\\\" b\",\n  \"n\": 1\n}"

    /// Fails items with `"fail":"yes"` (exit 3, "boom, \"bad\"" on stderr); prints ``prettyResult`` for the others.
    static let command = #"input=$(cat); case "$input" in *'"fail":"yes"'*) echo 'boom, "bad"' >&2; exit 3;; esac; printf '{\n  "text": "a, \\"quoted\\" b",\n  "n": 1\n}'"#

    /// Starts a run over 6 items, 2 of which fail; returns its id.
    static func failedRun(_ f: ResumeFixture, store: [String]) async throws -> String {
        let start = try await ResumeCLI.run(["start"] + store + ["--source", f.csv, "--id", "id", "--command", command, "--quiet"], in: f.dir)
        #expect(start.status == 1, "2 of 6 items fail: \(start.stderr)")
        return String(try #require(start.stdout.split(separator: "\n").first).dropFirst(4))
    }

    static func pythonCSV(_ path: String) throws -> [[String: String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import csv, json, sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='')))))", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try JSONSerialization.jsonObject(with: data) as? [[String: String]] ?? []
    }

    static func jsonLines(_ path: String) throws -> [[String: Any]] {
        try readText(FilePath(path)).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// Checks an export of ``failedRun(_:store:)`` read back as JSON Lines.
    static func expectJSONLines(_ path: String) throws {
        let records = try jsonLines(path)
        #expect(records.count == 6)
        #expect(records.map { $0["item_id"] as? String } == ["1", "2", "3", "4", "5", "6"], "source order")
        for record in records {
            #expect(Set(record.keys) == ["item_id", "status", "result", "error", "error_category", "attempts", "last_attempt_at"])
            #expect(record["attempts"] as? Int == 1)
            #expect(record["last_attempt_at"] is String)
            if ["3", "6"].contains(record["item_id"] as? String) {
                #expect(record["status"] as? String == "failed")
                #expect(record["result"] is NSNull)
                #expect((record["error"] as? String)?.contains(#"boom, "bad""#) == true, "\(record)")
                #expect(record["error_category"] as? String == "command")
            } else {
                #expect(record["status"] as? String == "succeeded")
                let result = try #require(record["result"] as? [String: Any], "the output's JSON itself: \(record)")
                #expect(result["text"] as? String == #"a, "quoted" b"#)
                #expect(result["n"] as? Int == 1)
                #expect(record["error"] is NSNull && record["error_category"] is NSNull)
            }
        }
    }

    /// Checks an export of ``failedRun(_:store:)`` read back by Python's csv module.
    static func expectCSV(_ path: String) throws {
        let header = readText(FilePath(path)).prefix { $0 != "\n" }
        #expect(header == "item_id,status,result,error,error_category,attempts,last_attempt_at")
        let rows = try pythonCSV(path)
        #expect(rows.count == 6)
        #expect(rows.map { $0["item_id"] } == ["1", "2", "3", "4", "5", "6"])
        for row in rows {
            #expect(row["attempts"] == "1")
            if ["3", "6"].contains(row["item_id"]) {
                #expect(row["status"] == "failed" && row["result"] == "" && row["error_category"] == "command")
                #expect(row["error"]?.contains(#"boom, "bad""#) == true, "\(row)")
            } else {
                #expect(row["status"] == "succeeded" && row["error"] == "")
                #expect(row["result"] == prettyResult, "commas, quotes and newlines survive the CSV round trip: \(row)")
            }
        }
    }

    @Test("a run with successes and failures exports as JSON Lines and as CSV, verified; --json says what was written")
    func jsonlAndCSV() async throws {
        let f = ResumeFixture(count: 6, failEvery: 3)
        let id = try await Self.failedRun(f, store: ["--db", f.db])

        let jsonl = try await ResumeCLI.run(["export", "--db", f.db, "--run-id", id, "--format", "jsonl", "--output", "\(f.dir)/out.jsonl"], in: f.dir)
        #expect(jsonl.status == 0, "\(jsonl.stderr)")
        #expect(jsonl.stdout.contains("exported run \(id): 6 results (4 succeeded, 2 failed)"), "\(jsonl.stdout)")
        #expect(jsonl.stdout.contains("verified"))
        try Self.expectJSONLines("\(f.dir)/out.jsonl")

        let csv = try await ResumeCLI.run(["export", "--db", f.db, "--latest", "--format", "csv", "--output", "\(f.dir)/out.csv", "--json"], in: f.dir)
        #expect(csv.status == 0, "\(csv.stderr)")
        try Self.expectCSV("\(f.dir)/out.csv")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(csv.stdout.utf8)) as? [String: Any])
        #expect(summary["run_id"] as? String == id)
        #expect(summary["records"] as? Int == 6 && summary["succeeded"] as? Int == 4 && summary["failed"] as? Int == 2)
        #expect(summary["format"] as? String == "csv" && summary["verified"] as? Bool == true)
        #expect(summary["bytes"] as? Int == readFile(FilePath("\(f.dir)/out.csv")).count)

        // The format follows the extension when --format is not given.
        let byExtension = try await ResumeCLI.run(["export", "--db", f.db, "--run-id", id, "--output", "\(f.dir)/again.csv"], in: f.dir)
        #expect(byExtension.status == 0, "\(byExtension.stderr)")
        try Self.expectCSV("\(f.dir)/again.csv")
    }

    @Test("a file already at the path is replaced whole, by a rename: nothing of it is left, no temporary file stays")
    func replacesAtomically() async throws {
        let f = ResumeFixture(count: 6, failEvery: 3)
        let id = try await Self.failedRun(f, store: ["--db", f.db])
        let out = "\(f.dir)/out.jsonl"
        writeRaw(String(repeating: "{\"old\":\"a previous export, far longer than the new one\"}\n", count: 2_000), to: FilePath(out))
        let before = try FileManager.default.attributesOfItem(atPath: out)[.systemFileNumber] as? Int
        let export = try await ResumeCLI.run(["export", "--db", f.db, "--run-id", id, "--output", out], in: f.dir)
        #expect(export.status == 0, "\(export.stderr)")
        try Self.expectJSONLines(out)
        #expect(!readText(FilePath(out)).contains("old"), "no byte of the previous file is left")
        let after = try FileManager.default.attributesOfItem(atPath: out)[.systemFileNumber] as? Int
        #expect(before != after, "a new inode renamed over the path, not the old file rewritten in place")
        #expect(!f.directory.names.contains { $0.contains("durable-tmp") }, "\(f.directory.names)")
    }

    @Test("an unknown run id: a clear error, exit 1, nothing written (a file at the path is left as it was)")
    func unknownRun() async throws {
        let f = ResumeFixture(count: 6, failEvery: 3)
        _ = try await Self.failedRun(f, store: ["--db", f.db])
        let missing = try await ResumeCLI.run(["export", "--db", f.db, "--run-id", "nope", "--output", "\(f.dir)/new.csv"], in: f.dir)
        #expect(missing.status == 1, "\(missing.stderr)")
        #expect(missing.stderr.contains("no run has the id nope"), "\(missing.stderr)")
        #expect(missing.stderr.contains("durable-resume list"), "the hint lists the runs: \(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(f.dir)/new.csv"))
        writeRaw("keep me\n", to: FilePath("\(f.dir)/kept.csv"))
        let again = try await ResumeCLI.run(["export", "--db", f.db, "--run-id", "nope", "--output", "\(f.dir)/kept.csv"], in: f.dir)
        #expect(again.status == 1)
        #expect(readText(FilePath("\(f.dir)/kept.csv")) == "keep me\n")
        #expect(!f.directory.names.contains { $0.contains("durable-tmp") }, "\(f.directory.names)")
        let noDatabase = try await ResumeCLI.run(["export", "--db", "\(f.dir)/none.db", "--latest", "--output", "\(f.dir)/x.csv"], in: f.dir)
        #expect(noDatabase.status == 1, "\(noDatabase.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(f.dir)/none.db"), "a read-only command creates no database")
    }

    @Test("results that disagree with the run's counts: exit 3 naming both numbers, nothing written")
    func countsDisagree() async throws {
        let f = ResumeFixture(count: 6, failEvery: 3)
        let id = try await Self.failedRun(f, store: ["--db", f.db])
        let queue = try DatabaseQueue(path: f.db)
        try await queue.write { db in try db.execute(sql: "UPDATE runs SET completed_count = completed_count + 1") }
        try queue.close()
        let export = try await ResumeCLI.run(["export", "--db", f.db, "--run-id", id, "--output", "\(f.dir)/out.jsonl"], in: f.dir)
        #expect(export.status == 3, "\(export.stderr)")
        #expect(export.stderr.contains("the store counts 7 results for the run (5 succeeded, 2 failed), but 6 were read"), "\(export.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(f.dir)/out.jsonl"))
    }

    @Test(
        "on PostgreSQL: the same export, JSON Lines and CSV",
        .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"))
    func postgres() async throws {
        let store = try await PostgresTestServer.makeStore()
        let url = PostgresTestServer.url(schema: store.schema)
        let f = ResumeFixture(count: 6, failEvery: 3)
        let id = try await Self.failedRun(f, store: ["--store", url])
        let jsonl = try await ResumeCLI.run(["export", "--store", url, "--run-id", id, "--output", "\(f.dir)/pg.jsonl"], in: f.dir)
        #expect(jsonl.status == 0, "\(jsonl.stderr)")
        try Self.expectJSONLines("\(f.dir)/pg.jsonl")
        let csv = try await ResumeCLI.run(["export", "--store", url, "--run-id", id, "--format", "csv", "--output", "\(f.dir)/pg.csv"], in: f.dir)
        #expect(csv.status == 0, "\(csv.stderr)")
        try Self.expectCSV("\(f.dir)/pg.csv")
        let missing = try await ResumeCLI.run(["export", "--store", url, "--run-id", "nope", "--output", "\(f.dir)/none.csv"], in: f.dir)
        #expect(missing.status == 1 && missing.stderr.contains("no run has the id nope"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(f.dir)/none.csv"))
        await PostgresTestServer.drop(store)
    }
}
