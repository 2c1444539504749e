import DurableCLI
import Foundation
import GRDB
import Testing

/// `--quiet` means one thing in the three CLIs (issue 17): no progress display; the final one-line summary,
/// notes, warnings and errors still go to standard error. Each `--help` says it in the same words. The built
/// binaries, stderr a pipe (plain progress lines, the first one at once).
@Suite("--quiet: no progress, the final summary stays, in all three CLIs", .inATestSlot)
struct QuietOptionTests {
    /// A plain progress line: `3 / 3 (100.0 %) · …`.
    static func progressLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains(" %)") }
    }

    @Test("durable-extract run --quiet prints the complete: line and no progress; without --quiet, both")
    func extract() async throws {
        let dir = TemporaryDirectory()
        let inputs = dir.file("in")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 0..<3 { writeRaw("x\n", to: inputs.appending("f\(i).txt")) }
        func arguments(_ output: String) -> [String] {
            ["run", "--inputs", inputs.string, "--output", dir.file(output).string, "--command", #"printf '{"n":1}'"#]
        }
        let quiet = try await BuiltCLI.run("durable-extract", arguments("quiet.jsonl") + ["--quiet"])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(quiet.stderr == "complete: 3 rows verified (0 already done, 3 extracted, 0 failed)\n", "\(quiet.stderr)")

        let loud = try await BuiltCLI.run("durable-extract", arguments("loud.jsonl"))
        #expect(loud.status == 0 && loud.stderr.contains("complete: 3 rows verified"), "\(loud.stderr)")
        #expect(!Self.progressLines(loud.stderr).isEmpty, "\(loud.stderr)")
    }

    @Test("durable-resume start --quiet prints its completed summary and no progress")
    func resume() async throws {
        let f = ResumeFixture(count: 3)
        let quiet = try await BuiltCLI.run(
            "durable-resume", ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", "cat", "--quiet"], in: f.dir)
        #expect(quiet.status == 0, "\(quiet.stderr)")
        let last = quiet.stderr.split(separator: "\n").last ?? ""
        #expect(last.hasPrefix("run ") && last.contains(" completed: 3 of 3 items succeeded"), "\(quiet.stderr)")
        #expect(Self.progressLines(quiet.stderr).isEmpty, "\(quiet.stderr)")

        let g = ResumeFixture(count: 3)
        let loud = try await BuiltCLI.run("durable-resume", ["start", "--db", g.db, "--source", g.csv, "--id", "id", "--command", "cat"], in: g.dir)
        #expect(loud.status == 0 && loud.stderr.contains(" completed: 3 of 3 items succeeded"), "\(loud.stderr)")
        #expect(!Self.progressLines(loud.stderr).isEmpty, "\(loud.stderr)")
    }

    @Test("durable-backfill run --quiet prints its completed summary and no progress")
    func backfill() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db").string
        let queue = try DatabaseQueue(path: db)
        try await queue.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER NOT NULL DEFAULT 0)")
            for _ in 0..<50 { try db.execute(sql: "INSERT INTO t DEFAULT VALUES") }
        }
        try queue.close()
        let quiet = try await BuiltCLI.run("durable-backfill", ["run", "--db", db, "--name", "b", "--table", "t", "--key", "id", "--set", "x = 1", "--quiet"])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(quiet.stderr.hasPrefix("completed: b: completed"), "\(quiet.stderr)")
        #expect(quiet.stderr.split(separator: "\n").count == 1, "one line: \(quiet.stderr)")
    }

    @Test("every --help says the same thing about --quiet")
    func help() async throws {
        let commands: [(String, [String])] = [
            ("durable-extract", ["run"]), ("durable-resume", ["start"]), ("durable-resume", ["resume"]),
            ("durable-resume", ["work"]), ("durable-backfill", ["run"]), ("durable-backfill", ["resume"]),
        ]
        for (tool, subcommand) in commands {
            let r = try await BuiltCLI.run(tool, subcommand + ["--help"])
            let words = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(words.contains("--quiet " + QuietOption.help), "\(tool) \(subcommand[0]) --help:\n\(r.stdout)")
        }
    }
}
