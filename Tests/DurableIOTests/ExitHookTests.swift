import DurableIO
import Foundation
import SystemPackage
import Testing

/// `--on-exit 'CMD'` (issue 16): the hook runs once however the command ends — success, failure, a guardrail stop,
/// a signal, a lock refused — with the end's JSON on stdin and the exit code in `DURABLE_EXIT_CODE`; its own failure
/// or timeout is reported and never changes the exit code. The built binaries, real hooks.
@Suite("--on-exit runs once however a command ends (the built binaries)", .inATestSlot)
struct ExitHookTests {
    let fixture = ExtractFixture()
    var dir: TemporaryDirectory { fixture.dir }

    /// A hook that saves its stdin and environment in the fixture's directory.
    var recordingHook: String {
        let d = ShellWord.quoted(dir.path.string)
        return #"cat > \#(d)/hook.json; echo "$DURABLE_EXIT_CODE $DURABLE_EXIT_STATUS $DURABLE_COMMAND" >> \#(d)/hook.env"#
    }

    /// What the hook saw: its environment line(s) and the JSON object it read.
    func hookSaw() throws -> (env: [String], json: [String: Any]) {
        let env = readText(dir.file("hook.env")).split(separator: "\n").map(String.init)
        let data = Data(readText(dir.file("hook.json")).utf8)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "hook.json: \(readText(dir.file("hook.json")))")
        return (env, json)
    }

    @Test("durable-extract: success (0, the run's summary), a guardrail stop (6, the error), a lock refused (4); each time once")
    func extractEndings() async throws {
        try fixture.makeInputs(3)
        let done = try await fixture.run(["--on-exit", recordingHook])
        #expect(done.status == 0, "\(done.text)")
        var saw = try hookSaw()
        #expect(saw.env == ["0 success durable-extract run"])
        #expect(saw.json["exit_code"] as? Int == 0 && saw.json["status"] as? String == "success" && saw.json["schema"] as? Int == 1)
        let summary = try #require(saw.json["summary"] as? [String: Any], "\(saw.json)")
        #expect(summary["rows_verified"] as? Int == 3 && summary["status"] as? String == "complete", "\(summary)")
        #expect(saw.json["error"] is NSNull)

        try FileManager.default.removeItem(atPath: dir.file("hook.env").string)
        try fixture.makeInputs(4)
        let refused = try await fixture.run(["--min-free-disk", "1P", "--on-exit", recordingHook])
        #expect(refused.status == 6, "\(refused.text)")
        saw = try hookSaw()
        #expect(saw.env == ["6 guardrail durable-extract run"])
        let error = try #require(saw.json["error"] as? [String: Any], "\(saw.json)")
        #expect((error["message"] as? String)?.contains("reserve") == true, "\(error)")

        try FileManager.default.removeItem(atPath: dir.file("hook.env").string)
        let holder = try ChildProcess(
            ChildProcess.built("durable-extract"),
            ["run", "--inputs", fixture.inputs.string, "--output", fixture.output.string, "--jobs", "1",
             "--min-free-disk", "0", "--command", "touch \(ShellWord.quoted(dir.file("started").string)); sleep 300"])
        defer { holder.kill9() }
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: dir.file("started").string) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))  // its item runs: it holds the lock
        }
        let locked = try await fixture.run(["--min-free-disk", "0", "--on-exit", recordingHook])
        #expect(locked.status == 4, "\(locked.text)")
        saw = try hookSaw()
        #expect(saw.env == ["4 lock_held durable-extract run"])
        #expect(saw.json["summary"] is NSNull || saw.json["summary"] is [String: Any])
    }

    @Test("a hook that fails (exit 7) or outlives --on-exit-timeout (1s) is reported; the exit code stays the command's")
    func hookFailuresDoNotChangeTheExitCode() async throws {
        try fixture.makeInputs(2)
        let failing = try await fixture.run(["--min-free-disk", "0", "--on-exit", "echo webhook down >&2; exit 7"])
        #expect(failing.status == 0, "\(failing.text)")
        #expect(failing.text.contains("warning: the --on-exit command exit status 7: webhook down"), "\(failing.text)")

        let started = ContinuousClock.now
        let slow = try await fixture.run(["--min-free-disk", "0", "--on-exit", "sleep 60", "--on-exit-timeout", "1s"])
        #expect(slow.status == 0, "\(slow.text)")
        #expect(slow.text.contains("warning: the --on-exit command timed out after 1.0 seconds"), "\(slow.text)")
        #expect(ContinuousClock.now - started < .seconds(40), "the hook was killed, not waited for")
    }

    @Test("durable-resume: SIGTERM during a run (143, the session's summary with stopped_by), a failed run (1)")
    func resumeEndings() async throws {
        let f = ResumeFixture(count: 40)
        let hookDir = ShellWord.quoted(f.dir)
        let hook = #"cat > \#(hookDir)/hook.json; echo "$DURABLE_EXIT_CODE $DURABLE_EXIT_STATUS $DURABLE_COMMAND" >> \#(hookDir)/hook.env"#
        let cli = try ResumeCLI(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(sleep: 1), "--jobs", "2",
             "--on-exit", hook], in: f.dir)
        // Watched from a thread of its own: on a loaded machine the cooperative pool's two threads can be busy with
        // other tests for longer than the run lasts (CI sent the signal after all 40 items were done).
        let started = try await offPool { () -> Bool in
            guard cli.waitForRunID() != nil else { return false }
            let deadline = Date().addingTimeInterval(60)
            while f.calls.isEmpty, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            cli.signal(SIGTERM)  // an item is running: 40 of 1 s each at --jobs 2 are far from done
            return true
        }
        #expect(started, "\(cli.stderr)")
        #expect(await cli.wait() == 143, "\(cli.stderr)")
        #expect(readText(f.directory.file("hook.env")) == "143 terminated durable-resume start\n")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(readText(f.directory.file("hook.json")).utf8)) as? [String: Any])
        let summary = try #require(json["summary"] as? [String: Any], "\(json)")
        #expect((summary["stopped_by"] as? String)?.contains("SIGTERM") == true, "\(summary)")

        let g = ResumeFixture(count: 4, failEvery: 2)
        let gDir = ShellWord.quoted(g.dir)
        let failed = try await ResumeCLI.run(
            ["start", "--db", g.db, "--source", g.csv, "--id", "id", "--command", g.command(failing: true), "--quiet",
             "--on-exit", #"echo "$DURABLE_EXIT_CODE $DURABLE_EXIT_STATUS" > \#(gDir)/hook.env"#], in: g.dir)
        #expect(failed.status == 1, "\(failed.stderr)")
        #expect(readText(g.directory.file("hook.env")) == "1 failure\n")
    }

    @Test("durable-backfill: completed (0, the backfill's record), then nothing to do (5)")
    func backfillEndings() async throws {
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 200)
        let arguments = ["run", "--db", db.string, "--name", "bf", "--table", "transmissions", "--key", "id",
                         "--set", Incident.set, "--where", Incident.predicate, "--quiet", "--on-exit", recordingHook]
        let first = try await ChildProcess.backfill(arguments)
        #expect(first.status == 0, "\(first.output)")
        let saw = try hookSaw()
        #expect(saw.env == ["0 success durable-backfill run"])
        let summary = try #require(saw.json["summary"] as? [String: Any], "\(saw.json)")
        #expect((summary["definition"] as? [String: Any])?["name"] as? String == "bf", "\(summary)")
        #expect(summary["status"] as? String == "completed", "\(summary)")
        let again = try await ChildProcess.backfill(["resume", "--db", db.string, "--name", "bf", "--on-exit", recordingHook])
        #expect(again.status == 5, "\(again.output)")
        #expect(try hookSaw().env == ["0 success durable-backfill run", "5 already_completed durable-backfill resume"])
    }
}
