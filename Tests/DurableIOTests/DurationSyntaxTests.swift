import Foundation
import GRDB
import Testing

/// One duration syntax on every duration flag of every CLI (issue 17): `30s`, `500ms`, `2m`, `1h`, and a bare
/// number as seconds; anything else (`30x`) is a usage error, exit 64, naming the flag and the syntax. The built
/// binaries, each flag on its own.
@Suite("Every duration flag of every CLI takes 30s, 500ms, 2m and refuses 30x with exit 64", .inATestSlot)
struct DurationSyntaxTests {
    let dir = TemporaryDirectory()

    /// Each CLI's duration flags, with arguments that get past parsing and then fail fast without a usage error
    /// (a missing input folder, a missing database): exit 1, not 64, shows that the value was accepted.
    var cases: [(tool: String, arguments: [String], flags: [String])] {
        let missing = dir.file("missing").string
        return [
            ("durable-extract", ["run", "--inputs", missing, "--output", dir.file("out.jsonl").string, "--command", "cat {}"],
             ["--item-timeout", "--heartbeat", "--grace", "--stall-timeout", "--retry-delay", "--retry-max-delay"]),
            ("durable-resume", ["start", "--db", "\(missing)/runs.sqlite", "--source", dir.file("items.csv").string, "--id", "id", "--command", "cat"],
             ["--grace", "--progress-interval", "--lease", "--batch-seconds", "--item-timeout", "--stall-timeout", "--retry-delay", "--retry-max-delay"]),
            ("durable-resume", ["resume", "--db", "\(missing)/runs.sqlite", "--run-id", "r"],
             ["--grace", "--progress-interval", "--lease", "--batch-seconds", "--item-timeout", "--stall-timeout"]),
            ("durable-backfill", ["run", "--db", "\(missing)/app.db", "--name", "b", "--table", "t", "--set", "x = 1"],
             ["--yield", "--busy-timeout"]),
        ]
    }

    @Test("30s, 500ms, 2m, 1h and a bare 30 are accepted on every duration flag")
    func accepted() async throws {
        for c in cases {
            for flag in c.flags {
                for value in ["30s", "500ms", "2m", "1h", "30"] {
                    let r = try await BuiltCLI.run(c.tool, c.arguments + [flag, value])
                    #expect(r.status != 64 && !r.stderr.contains("is invalid for"), "\(c.tool) \(c.arguments[0]) \(flag) \(value): exit \(r.status)\n\(r.stderr)")
                }
            }
        }
        // --target-batch-time excludes --batch-size only; on its own it parses like the others.
        let backfill = ["run", "--db", dir.file("missing/app.db").string, "--name", "b", "--table", "t", "--set", "x = 1"]
        for value in ["30s", "500ms", "2m"] {
            let r = try await BuiltCLI.run("durable-backfill", backfill + ["--target-batch-time", value])
            #expect(r.status != 64, "--target-batch-time \(value): \(r.stderr)")
        }
    }

    @Test("30x is refused on every duration flag: exit 64, the flag and the syntax named")
    func refused() async throws {
        for c in cases {
            for flag in c.flags {
                let r = try await BuiltCLI.run(c.tool, c.arguments + [flag, "30x"])
                #expect(r.status == 64, "\(c.tool) \(flag) 30x: exit \(r.status)\n\(r.stderr)")
                #expect(r.stderr.contains("'30x'") && r.stderr.contains(flag), "\(r.stderr)")
                #expect(r.stderr.contains("30s") || r.stderr.contains("300s"), "the syntax is named: \(r.stderr)")
            }
        }
    }

    @Test("durable-resume --lease below 300ms or above 24h is refused with its range; --item-timeout 500ms means half a second")
    func units() async throws {
        let start = ["start", "--db", dir.file("missing/runs.sqlite").string, "--source", dir.file("items.csv").string, "--id", "id", "--command", "cat"]
        let short = try await BuiltCLI.run("durable-resume", start + ["--lease", "100ms"])
        #expect(short.status == 64 && short.stderr.contains("from 300ms to 24h"), "\(short.stderr)")
        let long = try await BuiltCLI.run("durable-resume", start + ["--lease", "25h"])
        #expect(long.status == 64 && long.stderr.contains("from 300ms to 24h"), "\(long.stderr)")

        // A real run: an item command that sleeps 20 s is killed by --item-timeout 500ms (not 500 seconds).
        let f = ResumeFixture(count: 1)
        let r = try await BuiltCLI.run(
            "durable-resume", ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", "sleep 20", "--item-timeout", "500ms"], in: f.dir)
        #expect(r.status == 1, "\(r.stderr)")
        let config = try f.read { try String.fetchOne($0, sql: "SELECT config FROM runs")! }
        #expect(config.contains("0.5"), "the stored item timeout is 0.5 s: \(config)")
    }
}
