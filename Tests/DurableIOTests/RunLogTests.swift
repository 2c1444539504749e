import Foundation
import SystemPackage
import Testing

/// `--log-dir DIR` (issue 16): each run's log in `DIR/<run>/run.log` — the start with its configuration, retries,
/// failures with their messages, guardrail stops, the end with the summary — while the terminal output does not
/// change. The built binaries.
@Suite("--log-dir writes each run's log (the built binaries)", .inATestSlot)
struct RunLogTests {
    @Test("durable-extract: a retry, a failure, the end and the summary; a second session appends; a guardrail stop says why; stderr unchanged")
    func extract() async throws {
        let fixture = ExtractFixture()
        try fixture.makeInputs(3)
        let counts = fixture.dir.file("counts").string
        // f0001 exits 75 once, then succeeds; f0002 always exits 1.
        let command = #"c='\#(counts)'.$(basename {}); n=$(( $(cat "$c" 2>/dev/null || echo 0) + 1 )); echo $n > "$c"; "#
            + #"case {} in *f0001*) [ $n -le 1 ] && { echo busy >&2; exit 75; } ;; *f0002*) echo broken >&2; exit 1 ;; esac; printf '{"ok":1}'"#
        let logs = fixture.dir.file("logs/nested")
        let first = try await fixture.run(["--retries", "2", "--retry-delay", "10ms", "--log-dir", logs.string], command: command)
        #expect(first.status == 1, "\(first.text)")
        #expect(!first.text.contains("retrying") && !first.text.contains("debug"), "the terminal shows no log lines: \(first.text)")
        let log = readText(logs.appending("out.jsonl/run.log"))
        for needle in [
            "info durable-extract: started", "jobs=2", "retries=2",
            "retrying f0001.txt after attempt 1: exit status 75", "f0002.txt failed at attempt 1: exit status 1",
            "error durable-extract run: ended: exit 1 (failure)", #"summary {"already_done":0,"completed":2"#,
        ] {
            #expect(log.contains(needle), "run.log lacks \(needle): \(log)")
        }
        let lines = log.split(separator: "\n")
        #expect(lines.allSatisfy { $0.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trace|debug|info|notice|warning|error|critical) .*/) != nil }, "\(log)")

        let refused = try await fixture.run(["--min-free-disk", "1P", "--log-dir", logs.string], command: command)
        #expect(refused.status == 6, "\(refused.text)")
        let appended = readText(logs.appending("out.jsonl/run.log"))
        #expect(appended.hasPrefix(log), "a second session appends")
        #expect(appended.contains("ended: exit 6 (guardrail); error:"), "\(appended)")
        #expect(appended.components(separatedBy: "durable-extract: started").count == 3, "two sessions")
    }

    @Test("durable-resume: the run's folder is its id; the session's configuration, a retry, a failure, the end")
    func resume() async throws {
        let f = ResumeFixture(count: 4)
        let counts = "\(f.dir)/counts"
        try FileManager.default.createDirectory(atPath: counts, withIntermediateDirectories: true)
        let command = #"input=$(cat); c='\#(counts)'/{}; n=$(( $(cat "$c" 2>/dev/null || echo 0) + 1 )); echo $n > "$c"; "#
            + #"[ {} = 4 ] && { echo permanent >&2; exit 1; }; [ {} = 1 ] && [ $n -le 1 ] && exit 75; printf '%s' "$input""#
        let cli = try ResumeCLI(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", command, "--retries", "1",
             "--retry-delay", "10ms", "--quiet", "--log-dir", "\(f.dir)/logs"], in: f.dir)
        let status = await cli.wait()
        #expect(status == 1, "\(cli.stderr)")
        let id = try #require(cli.stdout.split(separator: "\n").first.map { String($0.dropFirst(4)) }, "\(cli.stdout)")
        let log = readText(f.directory.file("logs/\(id)/run.log"))
        for needle in [
            "info durable-resume: session started", "run=\(id)", "jobs=1", "items=4",
            "retrying item 1 after attempt 1: exit status 75", "item 4 failed after 1 attempt: exit status 1",
            "ended: exit 1 (failure)", "summary {",
        ] {
            #expect(log.contains(needle), "run.log lacks \(needle): \(log)")
        }
        #expect(!cli.stderr.contains("retrying"), "\(cli.stderr)")
    }

    @Test("durable-backfill: the backfill's folder is its name; its batches and its end")
    func backfill() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 300)
        let result = try await ChildProcess.backfill(
            ["run", "--db", db.string, "--name", "bf1", "--table", "transmissions", "--key", "id", "--set", Incident.set,
             "--where", Incident.predicate, "--batch-size", "100", "--quiet", "--log-dir", dir.file("logs").string])
        #expect(result.status == 0, "\(result.output)")
        let log = readText(dir.file("logs/bf1/run.log"))
        #expect(log.contains("durable-backfill run started"), "\(log)")
        #expect(log.components(separatedBy: "batch committed").count >= 3, "\(log)")
        #expect(log.contains("ended: exit 0 (success)"), "\(log)")
    }
}
