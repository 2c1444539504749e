import Foundation
import SystemPackage
import Testing

/// A guardrail stop exits 6 (DESIGN.md: memory limit, stall, low disk space; everything acknowledged is durable,
/// fix the cause and rerun), not 1 like any failure (issue 16). The built durable-extract, real item commands.
@Suite("A guardrail stop exits 6 (the built binary)", .inATestSlot)
struct GuardrailExitTests {
    let fixture = ExtractFixture()
    var dir: TemporaryDirectory { fixture.dir }
    var output: FilePath { fixture.output }

    @Test("a stall (items that never finish, --stall-timeout 2s): exit 6 with the stall's figures; a rerun resumes")
    func stall() async throws {
        try fixture.makeInputs(4)
        let hang = #"case {} in *f0000*) printf '{"ok":1}' ;; *) sleep 60 ;; esac"#
        let stalled = try await fixture.run(["--stall-timeout", "2s", "--grace", "1s"], command: hang)
        #expect(stalled.status == 6, "\(stalled.text)")
        #expect(stalled.text.contains("no progress for"), "\(stalled.text)")
        let rerun = try await fixture.run([], command: #"printf '{"ok":1}'"#)
        #expect(rerun.status == 0, "\(rerun.text)")
        #expect(rerun.text.contains("complete: 4 rows verified"), "\(rerun.text)")
    }

    @Test("the memory limit (1 MB, below any process's resident set): exit 6 naming the limit; a rerun resumes")
    func memory() async throws {
        try fixture.makeInputs(4)
        let stopped = try await fixture.run(["--memory-limit", "1M"], command: #"printf '{"ok":1}'"#)
        #expect(stopped.status == 6, "\(stopped.text)")
        #expect(stopped.text.contains("memory"), "\(stopped.text)")
        let rerun = try await fixture.run([], command: #"printf '{"ok":1}'"#)
        #expect(rerun.status == 0, "\(rerun.text)")
        #expect(rerun.text.contains("complete: 4 rows verified"), "\(rerun.text)")
    }

    /// A 64 MB tmpfs at `path` (root only), unmounted by the returned closure; `nil` where it cannot be mounted.
    static func smallDisk(at path: FilePath) -> (() -> Void)? {
        try? FileManager.default.createDirectory(atPath: path.string, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=64m", "tmpfs", path.string]
        guard (try? mount.run()) != nil else { return nil }
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { return nil }
        return {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = ["-l", path.string]
            try? umount.run()
            umount.waitUntilExit()
        }
    }

    @Test("a disk that fills during a run (a 64 MB tmpfs, 60 KB rows, --min-free-disk 55M): exit 6 before ENOSPC, nothing lost; a rerun with a lower reserve completes; a reserve above the disk starts nothing")
    func diskFillsDuringTheRun() async throws {
        let disk = dir.file("disk")
        guard let unmount = Self.smallDisk(at: disk) else {
            print("skipped: cannot mount a tmpfs here (needs root)")
            return
        }
        defer { unmount() }
        try fixture.makeInputs(300)
        let out = disk.appending("out.jsonl")
        let bigRow = #"printf '{"pad":"%s"}' "$(head -c 60000 /dev/zero | tr '\0' a)""#
        func run(_ reserve: String) async throws -> (status: Int32, text: String) {
            let child = try ChildProcess(
                ChildProcess.built("durable-extract"),
                ["run", "--inputs", fixture.inputs.string, "--output", out.string, "--jobs", "2", "--command", bigRow,
                 "--min-free-disk", reserve])
            let status = await child.wait()
            return (status, child.text)
        }
        let refused = try await run("100M")
        #expect(refused.status == 6, "\(refused.text)")
        #expect(refused.text.contains("reserve; no item was started"), "\(refused.text)")

        let stopped = try await run("55M")
        #expect(stopped.status == 6, "\(stopped.text)")
        #expect(stopped.text.contains("reserve: stopped before the disk fills"), "\(stopped.text)")
        #expect(!stopped.text.contains("ENOSPC"), "\(stopped.text)")
        let ledgered = readFile(out.appendingToName(".done")).filter { $0 == 0x0A }.count
        #expect(ledgered > 50 && ledgered < 300, "stopped part-way: \(ledgered) keys")

        let rerun = try await run("1M")
        #expect(rerun.status == 0, "\(rerun.text)")
        #expect(rerun.text.contains("complete: 300 rows verified"), "\(rerun.text)")
        #expect(readFile(out).filter { $0 == 0x0A }.count == 300)
    }

    // MARK: durable-resume: the same flags, on the same scheduler

    @Test("durable-resume: a stall exits 6 with the finished results committed; resume completes")
    func resumeStall() async throws {
        let f = ResumeFixture(count: 6)
        f.touch("slow")
        // Items 1 and 2 finish; the rest hang while the file `slow` exists.
        let hang = #"input=$(cat); case "$input" in *'"id":"1"'*|*'"id":"2"'*) ;; *) [ -f '\#(f.dir)/slow' ] && sleep 60 ;; esac; printf '%s' "$input""#
        let start = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", hang, "--jobs", "2", "--stall-timeout", "2s",
             "--grace", "1"], in: f.dir)
        #expect(start.status == 6, "\(start.stderr)")
        #expect(start.stderr.contains("no progress for"), "\(start.stderr)")
        let id = try #require(start.stdout.split(separator: "\n").first.map { String($0.dropFirst(4)) })
        #expect(try f.committed(runID: id) >= 2, "the finished results were committed before the stop")
        f.remove("slow")
        let resume = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--quiet"], in: f.dir)
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(try f.resultCount() == 6)
    }

    @Test("durable-resume: the memory limit (1 MB) exits 6 after the items in flight finish; a reserve above the disk starts nothing")
    func resumeMemoryAndDisk() async throws {
        let f = ResumeFixture(count: 20)
        let start = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", f.command(), "--jobs", "2",
             "--memory-limit", "1M", "--quiet"], in: f.dir)
        #expect(start.status == 6, "\(start.stderr)")
        #expect(start.stderr.contains("memory check failed"), "\(start.stderr)")
        let id = try #require(start.stdout.split(separator: "\n").first.map { String($0.dropFirst(4)) })
        let committed = try f.committed(runID: id)
        #expect(committed >= 1 && committed == f.calls.count, "every finished item committed: \(committed) of \(f.calls.count) calls")

        let refused = try await ResumeCLI.run(
            ["resume", "--db", f.db, "--run-id", id, "--min-free-disk", "1P", "--quiet"], in: f.dir)
        #expect(refused.status == 6, "\(refused.stderr)")
        #expect(refused.stderr.contains("reserve; no item was started"), "\(refused.stderr)")
        #expect(f.calls.count == committed, "nothing ran")
        let resume = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--quiet"], in: f.dir)
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(try f.resultCount() == 20)
    }

    // MARK: durable-backfill: memory and disk (its batches are bounded by the busy timeout: no stall timeout)

    @Test("durable-backfill: a 1 MB memory limit stops before a batch, recorded interrupted, exit 6; a reserve above the disk starts nothing; resume completes equal to the one-shot UPDATE")
    func backfillMemoryAndDisk() async throws {
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 800, withoutObservations: 100)
        let reference = dir.file("reference.db")
        try Incident.oneShot(copyOf: db, to: reference)
        let before = try Incident.rows(db)

        let stopped = try await ChildProcess.backfill(BackfillCLITests.runArguments(db, ["--memory-limit", "1M"]))
        #expect(stopped.status == 6, "\(stopped.output)")
        #expect(stopped.output.contains("memory check failed"), "\(stopped.output)")
        let status = try await ChildProcess.backfill(["status", "--db", db.string, "--name", BackfillCLITests.name, "--json"])
        #expect(status.output.contains("\"status\":\"interrupted\""), "\(status.output)")
        #expect(try Incident.rows(db) == before, "stopped before its first batch")

        let refused = try await ChildProcess.backfill(
            ["resume", "--db", db.string, "--name", BackfillCLITests.name, "--quiet", "--min-free-disk", "1P"])
        #expect(refused.status == 6, "\(refused.output)")
        #expect(refused.output.contains("reserve; no item was started"), "\(refused.output)")

        let resumed = try await BackfillCLITests.resume(db)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(try Incident.rows(db) == Incident.rows(reference))
    }
}
