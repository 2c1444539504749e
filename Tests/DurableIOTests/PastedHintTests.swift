import DurableSQLite
import Foundation
import GRDB
import Testing

/// Hints are commands that work when pasted (issue 17): each hint a CLI prints is run as printed with `sh -c`
/// and must do its job (exit 0), never be a usage error (64). The state lives under a folder whose name has a
/// space, a quote and a `$`, so a hint that does not shell-quote its paths fails.
@Suite("Hints work when pasted into a shell", .inATestSlot)
struct PastedHintTests {
    let root = TemporaryDirectory()
    /// A folder whose name a shell would split or expand.
    var odd: String {
        let path = root.file("my runs, it's $HOME").string
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `hint` as pasted into `sh -c`, from another folder, with the built binaries on PATH.
    func paste(_ hint: String) async throws -> BuiltCLI.Result {
        let bin = ChildProcess.built("durable-resume").deletingLastPathComponent().path
        return try await BuiltCLI.run(
            executable: "/bin/sh", ["-c", hint], in: "/",
            environment: ["PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")])
    }

    /// The text after `marker` on the line that holds it, without the backticks around a command.
    func hint(after marker: String, in text: String) -> String? {
        guard let line = text.split(separator: "\n").first(where: { $0.contains(marker) }),
              let range = line.range(of: marker) else { return nil }
        var hint = String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        if hint.hasPrefix("`"), let end = hint.dropFirst().firstIndex(of: "`") { hint = String(hint[hint.index(after: hint.startIndex)..<end]) }
        return hint
    }

    @Test("durable-resume: the status hint after kill -9, the resume hint after failures, the list hint of an unknown run id")
    func resume() async throws {
        let dir = odd
        let db = "\(dir)/runs.sqlite"
        let f = ResumeFixture(count: 12, failEvery: 4)
        f.touch("slow")
        let child = try ResumeCLI(
            ["start", "--db", db, "--source", f.csv, "--id", "id", "--command", f.command(sleep: 30, failing: true, slowWhileFlag: true),
             "--batch-size", "1", "--quiet"], in: f.dir)
        let id = try #require(await child.runID(), "\(child.stderr)")
        let deadline = Date().addingTimeInterval(60)
        // The first item has started and sleeps 30 s: the kill comes while the run is in progress, however late
        // this task wakes up on a loaded machine (its orphaned sleep ends on its own).
        while f.calls.isEmpty && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        child.signal(SIGKILL)
        await child.wait()
        f.remove("slow")

        // status of the killed run: "resume it with `durable-resume resume --db … --run-id …`".
        let status = try await BuiltCLI.run("durable-resume", ["status", "--db", db])
        let resumeIt = try #require(hint(after: "resume it with", in: status.stdout), "\(status.stdout)\(status.stderr)")
        #expect(resumeIt.contains("--db '"), "the path is shell-quoted: \(resumeIt)")
        let resumed = try await paste(resumeIt)
        #expect(resumed.status == 1, "the pasted hint resumed the run; 3 items fail, so exit 1: \(resumeIt)\n\(resumed.stderr)")

        // The run failed: "resume with: durable-resume resume --db … --run-id … --retry-errors-only".
        let again = try #require(hint(after: "resume with: ", in: resumed.stderr), "\(resumed.stderr)")
        #expect(again.hasSuffix("--retry-errors-only"), "\(again)")
        f.touch("fixed")
        let retried = try await paste(again)
        #expect(retried.status == 0, "\(again)\n\(retried.stderr)")
        #expect(retried.stderr.contains("run \(id) completed: 12 of 12 items succeeded"), "\(retried.stderr)")

        // An unknown run id: "List the runs with: durable-resume list --db …".
        let unknown = try await BuiltCLI.run("durable-resume", ["resume", "--db", db, "--run-id", "no-such-run"])
        #expect(unknown.status == 1, "\(unknown.stderr)")
        let list = try #require(hint(after: "List the runs with: ", in: unknown.stderr), "\(unknown.stderr)")
        let listed = try await paste(list)
        #expect(listed.status == 0 && listed.stdout.contains(id), "\(list)\n\(listed.stdout)\(listed.stderr)")
    }

    @Test("durable-resume on PostgreSQL: the resume hint carries --store without the password, and works pasted with PGPASSWORD",
          .enabled(if: PostgresTestServer.isAvailable))
    func resumePostgres() async throws {
        let store = try await PostgresTestServer.makeStore()
        defer { Task { await PostgresTestServer.drop(store) } }
        let f = ResumeFixture(count: 6, failEvery: 3)
        let url = PostgresTestServer.url(schema: store.schema)
        let password = PostgresTestServer.location.password ?? ""
        let first = try await BuiltCLI.run(
            "durable-resume", ["start", "--store", url, "--source", f.csv, "--id", "id", "--command", f.command(failing: true), "--quiet"], in: f.dir)
        #expect(first.status == 1, "\(first.stderr)")
        let resumeHint = try #require(hint(after: "resume with: ", in: first.stderr), "\(first.stderr)")
        #expect(password.isEmpty || !resumeHint.contains(password), "\(resumeHint)")
        #expect(!resumeHint.contains("***"), "a redacted password would paste a wrong one: \(resumeHint)")
        f.touch("fixed")
        let bin = ChildProcess.built("durable-resume").deletingLastPathComponent().path
        let pasted = try await BuiltCLI.run(
            executable: "/bin/sh", ["-c", resumeHint], in: "/",
            environment: ["PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "PGPASSWORD": password])
        #expect(pasted.status == 0, "\(resumeHint)\n\(pasted.stderr)")
    }

    @Test("durable-backfill: the interrupted status names the command that continues it, and it does")
    func backfill() async throws {
        let db = "\(odd)/app.db"
        let queue = try DatabaseQueue(path: db)
        try await queue.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER NOT NULL DEFAULT 0)")
            for _ in 0..<400 { try db.execute(sql: "INSERT INTO t DEFAULT VALUES") }
        }
        try queue.close()
        let child = try ChildProcess(
            ChildProcess.built("durable-backfill"),
            ["run", "--db", db, "--name", "b1", "--table", "t", "--key", "id", "--set", "x = 1", "--batch-size", "5", "--yield", "100ms"])  // 80 batches, 8 s or more: time to see 4 of them under load
        #expect(await child.send(SIGINT, when: { (try Backfill.status(named: "b1", in: db)?.examinedRows ?? 0) >= 20 }), "\(child.text)")
        #expect(await child.wait() == 130, "\(child.text)")

        let status = try await BuiltCLI.run("durable-backfill", ["status", "--db", db])
        #expect(status.stdout.contains(": interrupted"), "\(status.stdout)")
        let command = try #require(hint(after: "Continue with: ", in: status.stdout), "\(status.stdout)")
        let continued = try await paste(command)
        #expect(continued.status == 0, "\(command)\n\(continued.stderr)")
        let left = try await DatabaseQueue(path: db).read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t WHERE x = 0")! }
        #expect(left == 0)
        // The summary printed at the stop names the same command.
        #expect(hint(after: "Continue with: ", in: child.text) == command, "\(child.text)")
    }

    @Test("durable-extract: status after kill -9 says the process died, when it last beat, and that rerunning resumes; the rerun does")
    func extract() async throws {
        let dir = odd
        let inputs = "\(dir)/in"
        try FileManager.default.createDirectory(atPath: inputs, withIntermediateDirectories: true)
        for i in 0..<6 { writeRaw("x\n", to: .init("\(inputs)/f\(i).txt")) }
        let output = "\(dir)/out.jsonl"
        let slow = root.file("slow").string
        writeRaw("", to: .init(slow))
        let arguments = [
            "run", "--inputs", inputs, "--output", output, "--jobs", "1", "--heartbeat", "100ms", "--quiet",
            "--command", "case {} in *f3.txt) [ -f '\(slow)' ] && sleep 60;; esac; printf '{\"n\":1}'",
        ]
        let child = try ChildProcess(ChildProcess.built("durable-extract"), arguments)
        let staged = "\(output).rows.jsonl"
        let heartbeat = "\(output).heartbeat"
        #expect(await child.send(SIGKILL, when: {
            readText(.init(staged)).split(separator: "\n").count >= 3 && readText(.init(heartbeat)).contains("\"completed\":3")
        }, timeout: 60), "\(child.text)")
        await child.wait()

        let status = try await BuiltCLI.run("durable-extract", ["status", "--output", output])
        #expect(status.stdout.contains("not running: the process that ran it (pid \(child.process.processIdentifier)) no longer exists"), "\(status.stdout)")
        #expect(status.stdout.contains("its last heartbeat was at 20"), "\(status.stdout)")
        #expect(status.stdout.contains("rerun the same `durable-extract run` command to resume"), "\(status.stdout)")

        try FileManager.default.removeItem(atPath: slow)
        let rerun = try await BuiltCLI.run("durable-extract", arguments)
        #expect(rerun.status == 0 && rerun.stderr.contains("complete: 6 rows verified (3 already done, 3 extracted"), "\(rerun.stderr)")
        let after = try await BuiltCLI.run("durable-extract", ["status", "--output", output])
        #expect(after.stdout.hasPrefix("not running\n"), "a finished run is just not running: \(after.stdout)")
    }
}
