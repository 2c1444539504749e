import DurableIO
import Foundation
import GRDB
import SystemPackage
import Testing

/// The order of the real system calls of each built CLI, as strace sees it: what the docs promise — each
/// acknowledged commit (a ledger line, a batch, a finalize) is preceded by the sync of the file or WAL that holds
/// it, and the success line comes after the last sync. SQLite and child processes do not go through the seam, so
/// these tests look below it. Skipped, with the reason printed, where strace is missing.
@Suite("System calls of the built binaries (strace)", .serialized, .inATestSlot)
struct SystemCallDurabilityTests {
    @Test("durable-extract: each ledger line is synced before `complete`; finalize is synced and renamed before `complete`")
    func extract() async throws {
        let dir = TemporaryDirectory()
        let inputs = dir.file("inputs")
        let output = dir.file("out.jsonl")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 0..<60 { writeRaw(String(repeating: "line \(i)\n", count: i % 5 + 1), to: inputs.appending(String(format: "f%03d.txt", i))) }
        guard let trace = try await SystemCallTrace.run(
            ChildProcess.built("durable-extract"),
            ["run", "--inputs", inputs.string, "--output", output.string, "--jobs", "4",
             "--command", #"printf '{"bytes":%s}' "$(wc -c < {})""#])
        else { return }
        #expect(trace.status == 0, "\(trace.summary)")
        let complete = try #require(trace.output(containing: "complete: 60 rows verified"), "\(trace.summary)")

        let ledger = output.appendingToName(".done").string
        let staging = output.appendingToName(".rows.jsonl").string
        trace.expectEveryWrite(toPathEndingIn: staging, syncedBefore: complete)
        let ledgerWrites = trace.writes(toPathEndingIn: ledger)
        #expect(ledgerWrites.count >= 1, "\(trace.summary)")
        trace.expectEveryWrite(toPathEndingIn: ledger, syncedBefore: complete)
        // Each key reaches the ledger only after its row is synced in staging: a power cut can never leave the
        // ledger naming a row that staging lost (the seed's 152,265 keys over 59,812 rows).
        trace.expectEachKey(writtenTo: ledger, afterItsRowIsSyncedIn: staging)
        // Finalize: the temporary output is synced, renamed over the output, and the directory synced — all
        // before `complete` is printed.
        let rename = try #require(trace.calls.last { $0.name.hasPrefix("rename") && $0.succeeded && ($0.text ?? "").contains(dir.path.string) },
                                  "no rename of the output\n\(trace.summary)")
        let temporary = try #require(rename.text)
        #expect(rename.returned < complete.started)
        trace.expectEveryWrite(toPathEndingIn: temporary, syncedBefore: rename)
        #expect(trace.syncs(ofPathEndingIn: temporary).count >= 1, "the finalized output was never synced\n\(trace.summary)")
        let directorySync = trace.syncs(ofPathEndingIn: dir.path.string).contains { $0.started > rename.returned && $0.returned < complete.started }
        #expect(directorySync, "no directory sync between the rename and `complete`\n\(trace.summary)")
        print("durable-extract syncs: ledger \(trace.syncs(ofPathEndingIn: ledger).count) for \(ledgerWrites.count) ledger writes, staging \(trace.syncs(ofPathEndingIn: staging).count), output \(trace.syncs(ofPathEndingIn: temporary).count)")
    }

    @Test("durable-extract: a rerun with nothing pending syncs the output and its directory before `complete`, and writes no output")
    func extractRerunWithNothingPending() async throws {
        let f = ExtractFixture()
        try f.makeInputs(20)
        let (dir, output) = (f.dir, f.output)
        let arguments = ["run", "--inputs", f.inputs.string, "--output", output.string, "--builtin", "file-stats"]
        let first = try await BuiltCLI.run("durable-extract", arguments)
        #expect(first.status == 0, "\(first.stderr)")
        guard let trace = try await SystemCallTrace.run(ChildProcess.built("durable-extract"), arguments) else { return }
        #expect(trace.status == 0, "\(trace.summary)")
        let complete = try #require(trace.output(containing: "complete: 20 rows verified (20 already done"), "\(trace.summary)")
        // The heartbeat is replaced atomically too: only a rename of the output's own temporary file is a rewrite.
        let temporary = "/." + (output.lastComponent?.string ?? "") + ".durable-tmp-"
        #expect(!trace.calls.contains { $0.name.hasPrefix("rename") && ($0.text ?? "").contains(temporary) },
                "the final output was rewritten\n\(trace.summary)")
        #expect(trace.writes(toPathEndingIn: output.string).isEmpty, "\(trace.summary)")
        #expect(trace.syncs(ofPathEndingIn: output.string).contains { $0.returned < complete.started },
                "the output was never synced before `complete`\n\(trace.summary)")
        #expect(trace.syncs(ofPathEndingIn: dir.path.string).contains { $0.returned < complete.started },
                "the output's directory was never synced before `complete`\n\(trace.summary)")
    }

    @Test("durable-backfill: each batch commit is synced (≥ 1 sync of the database or its WAL per batch); `completed` comes after the last sync", arguments: [false, true])
    func backfill(wal: Bool) async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 800, withoutObservations: 100, wal: wal)
        guard let trace = try await SystemCallTrace.run(
            ChildProcess.backfill, BackfillCLITests.runArguments(db, ["--batch-size", "20", "--nice-ratio", "0"]))
        else { return }
        #expect(trace.status == 0, "\(trace.summary)")
        let batches = try BackfillCLITests.batches(db)
        #expect(batches >= 30, "\(batches) batches")
        guard let completed = trace.expectedOutput(containing: "completed") else { return }
        let file = wal ? db.string + "-wal" : db.string
        let syncs = trace.syncs(ofPathEndingIn: file).filter { $0.returned < completed.started }
        #expect(syncs.count >= batches, "\(syncs.count) syncs of \(file) for \(batches) batch commits\n\(trace.summary)")
        trace.expectEveryWrite(toPathEndingIn: file, syncedBefore: completed)
        trace.expectLastSync(ofPathEndingIn: file, before: completed)
        print("durable-backfill (\(wal ? "WAL" : "rollback journal")): \(syncs.count) syncs of \(file) for \(batches) batches")
    }

    @Test("durable-resume start: each batch commit's WAL frames are synced (≥ 1 sync of the -wal per commit), the last before `completed`")
    func resume() async throws {
        let f = ResumeFixture(count: 300)
        guard let trace = try await SystemCallTrace.run(
            ResumeCLI.executable,
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", "cat", "--jobs", "1", "--batch-size", "10"])
        else { return }
        #expect(trace.status == 0, "\(trace.summary)")
        let commits = 300 / 10  // one item at a time: every batch commit holds exactly 10 results (or fewer, on time)
        guard let completed = trace.expectedOutput(containing: "completed") else { return }
        let wal = f.db + "-wal"
        let syncs = trace.syncs(ofPathEndingIn: wal).filter { $0.returned < completed.started }
        #expect(syncs.count >= commits, "\(syncs.count) syncs of the WAL for \(commits) batch commits\n\(trace.summary)")
        trace.expectEveryWrite(toPathEndingIn: wal, syncedBefore: completed)
        trace.expectLastSync(ofPathEndingIn: wal, before: completed)
        #expect(try f.resultCount() == 300)
        print("durable-resume: \(syncs.count) syncs of the WAL before `completed` for \(commits) batch commits (\(trace.syncs(ofPathEndingIn: wal).count) in all)")
    }

    @Test(
        "durable-resume start on PostgreSQL: every COMMIT's reply from the server is read before `completed`; at least one COMMIT per batch",
        .enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server: set DURABLE_TEST_POSTGRES_URL (.ci/run does)"))
    func resumeOnPostgres() async throws {
        let f = try await PostgresCLIFixture(count: 200)
        defer { Task { await f.dispose() } }
        guard let trace = try await SystemCallTrace.run(
            ResumeCLI.executable,
            ["start", "--store", f.url, "--source", f.csv, "--id", "id", "--command", "cat", "--jobs", "1", "--batch-size", "10"],
            tracing: SystemCallTrace.networkCalls)
        else { return }
        #expect(trace.status == 0, "\(trace.output.suffix(2000))")
        guard let completed = trace.expectedOutput(containing: "completed") else { return }
        // PostgresNIO's transactions send `COMMIT;` (extended protocol: Parse carries the text) and the server
        // answers with CommandComplete "COMMIT\0" once the commit is durable (synchronous_commit=on, which the
        // store sets and reads back).
        let sent = trace.calls(named: ["write", "writev", "sendto", "sendmsg"], containing: "COMMIT;")
        let replies = trace.calls(named: ["read", "readv", "recvfrom", "recvmsg"], containing: "COMMIT\u{0}")
        let commits = 200 / 10
        #expect(sent.count >= commits, "\(sent.count) COMMITs sent for \(commits) batches")
        for commit in sent where commit.started < completed.started {
            let answered = replies.contains { $0.started > commit.returned && $0.returned < completed.started }
            #expect(answered, "COMMIT \(commit) has no reply read before `completed` \(completed)")
        }
        #expect(try await f.int("SELECT count(*) FROM results") == 200)
        print("durable-resume on PostgreSQL: \(sent.count) COMMITs sent, \(replies.count) replies read, all before `completed`")
    }

    @Test("The trace parser joins interrupted calls, reads -y paths and unescapes written text")
    func parser() {
        let text = """
            100 execve("/usr/bin/durable-resume", ["durable-resume"], 0x7ffd /* 3 vars */) = 0
            101 write(5</tmp/a b/runs.sqlite-wal>, "\\x37\\177\\0", 3 <unfinished ...>
            100 write(2<pipe:[77]>, "completed: 3 of 3\\n", 18) = 18
            101 <... write resumed>) = 3
            101 fdatasync(5</tmp/a b/runs.sqlite-wal>) = -1 EIO (Input/output error)
            102 fdatasync(12</tmp/x/out.jsonl.rows.jsonl> <unfinished ...>
            100 write(1<pipe:[78]>, "ok\\n", 3) = 3
            102 <... fdatasync resumed>)          = 0
            """
        let calls = SystemCallTrace.parse(text)
        #expect(calls.map(\.name) == ["execve", "write", "write", "fdatasync", "write", "fdatasync"])
        // A resumed call whose result strace padded to a column: kept, with its path and its span.
        #expect(calls[5].path == "/tmp/x/out.jsonl.rows.jsonl" && calls[5].started == 5 && calls[5].returned == 7 && calls[5].succeeded)
        #expect(calls[1].text == "completed: 3 of 3\n")
        #expect(calls[2].path == "/tmp/a b/runs.sqlite-wal" && calls[2].started == 1 && calls[2].returned == 3)
        #expect(calls[3].error == "EIO" && !calls[3].succeeded && calls[3].isSync)
    }
}
