import DurableIO
import Foundation
import GRDB
import SystemPackage
import Testing

/// Faults injected at the C library boundary (`LD_PRELOAD`, see ``FaultLibrary``) into the built CLIs: a failed sync,
/// a full disk, no descriptors left. Each case: a non-zero exit, a message naming the operation and the file,
/// nothing acknowledged lost, and a clean rerun that completes every item exactly once.
@Suite("Faults at the C library boundary (LD_PRELOAD)", .serialized, .inATestSlot)
struct FaultInjectionTests {
    // MARK: durable-extract

    struct Extraction {
        let dir = TemporaryDirectory()
        var inputs: FilePath { dir.file("inputs") }
        var output: FilePath { dir.file("out.jsonl") }
        static let count = 80

        init() throws {
            try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
            for i in 0..<Self.count { writeRaw("item \(i)\n", to: inputs.appending(String(format: "f%03d.txt", i))) }
        }

        var arguments: [String] {
            ["run", "--inputs", inputs.string, "--output", output.string, "--jobs", "4",
             "--command", #"printf '{"bytes":%s}' "$(wc -c < {})""#]
        }

        /// A clean rerun: exit 0, every input exactly once in the output.
        func expectCleanRerun(sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let rerun = try await ChildProcess.run(ChildProcess.built("durable-extract"), arguments, environment: [:])
            #expect(rerun.status == 0, "the clean rerun: \(rerun.output.suffix(2000))", sourceLocation: sourceLocation)
            #expect(rerun.output.contains("complete: \(Self.count) rows verified"), "\(rerun.output.suffix(2000))", sourceLocation: sourceLocation)
            let keys = readText(output).split(separator: "\n").map { line in
                ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["key"] as? String ?? ""
            }
            #expect(keys.count == Self.count && Set(keys).count == Self.count, "\(keys.count) rows, \(Set(keys).count) keys", sourceLocation: sourceLocation)
        }
    }

    @Test("durable-extract: ENOSPC on a write to the ledger, the staging file or the finalized output: exit ≠ 0 naming write and the file; a rerun completes each item once",
          arguments: [(".done", 10), (".rows.jsonl", 10), ("out.jsonl.durable-tmp", 0)])
    func extractFullDisk(file: String, after: Int) async throws {
        let run = try Extraction()
        guard let faults = FaultLibrary.environment([.write(pathContaining: file, after: after)], program: "durable-extract") else { return }
        let failed = try await ChildProcess.run(ChildProcess.built("durable-extract"), run.arguments, environment: faults)
        #expect(failed.output.contains("durable-fault: "), "the fault was injected: \(failed.output.suffix(2000))")
        #expect(failed.status != 0, "a write that failed with ENOSPC ended in exit 0:\n\(failed.output.suffix(2000))")
        #expect(!failed.output.contains("complete: "), "\(failed.output.suffix(2000))")
        let message = failed.output.split(separator: "\n").filter { !$0.hasPrefix("durable-fault:") }.joined(separator: "\n")
        #expect(message.contains(file), "the error names the file: \(message.suffix(2000))")
        #expect(message.contains("write") || message.contains("append"), "the error names the operation: \(message.suffix(2000))")
        #expect(message.localizedCaseInsensitiveContains("no space left") || message.contains("ENOSPC"), "\(message.suffix(2000))")
        try await run.expectCleanRerun()
    }

    @Test("durable-extract: EIO on fdatasync of the ledger: exit ≠ 0 naming the sync and the ledger; a rerun completes each item once")
    func extractFailedSync() async throws {
        let run = try Extraction()
        guard let faults = FaultLibrary.environment([.sync(pathContaining: ".done", after: 3)], program: "durable-extract") else { return }
        let failed = try await ChildProcess.run(ChildProcess.built("durable-extract"), run.arguments, environment: faults)
        #expect(failed.output.contains("durable-fault: "), "the fault was injected: \(failed.output.suffix(2000))")
        #expect(failed.status != 0, "a failed sync ended in exit 0:\n\(failed.output.suffix(2000))")
        let message = failed.output.split(separator: "\n").filter { !$0.hasPrefix("durable-fault:") }.joined(separator: "\n")
        #expect(message.contains(".done"), "\(message.suffix(2000))")
        #expect(message.localizedCaseInsensitiveContains("sync"), "\(message.suffix(2000))")
        try await run.expectCleanRerun()
    }

    @Test("durable-extract: EMFILE on pipe: the items that cannot start fail (recorded, naming EMFILE), no trap; a rerun completes each item once")
    func extractNoPipes() async throws {
        let run = try Extraction()
        guard let faults = FaultLibrary.environment([.pipe(after: 20)], program: "durable-extract") else { return }
        let failed = try await ChildProcess.run(ChildProcess.built("durable-extract"), run.arguments, environment: faults)
        #expect(failed.status != 132 && failed.status < 128, "exit \(failed.status): a trap\n\(failed.output.suffix(2000))")
        #expect(!failed.output.contains("Fatal error"), "\(failed.output.suffix(2000))")
        #expect(failed.status == 1, "failed items exit 1: \(failed.output.suffix(2000))")
        #expect(readText(run.output.appendingToName(".errors.jsonl")).contains("EMFILE"), "the failures name EMFILE")
        try await run.expectCleanRerun()
    }

    // MARK: durable-resume

    @Test("durable-resume start: EIO on the WAL's second fdatasync: exit ≠ 0 naming the database; a clean resume completes every item once")
    func resumeFailedWALSync() async throws {
        let f = ResumeFixture(count: 100)
        guard let faults = FaultLibrary.environment([.sync(pathContaining: "runs.sqlite-wal", after: 1)], program: "durable-resume") else { return }
        let failed = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", "cat", "--jobs", "2", "--batch-size", "10", "--quiet"],
            in: f.dir, environment: faults)
        #expect(failed.stderr.contains("durable-fault: fdatasync"), "the fault was injected: \(failed.stderr.suffix(2000))")
        #expect(failed.status != 0, "a failed WAL sync ended in exit 0: \(failed.stdout)\n\(failed.stderr.suffix(2000))")
        let message = failed.stderr.split(separator: "\n").filter { !$0.hasPrefix("durable-fault:") }.joined(separator: "\n")
        #expect(message.contains("runs.sqlite"), "the error names the database: \(message.suffix(2000))")
        #expect(message.localizedCaseInsensitiveContains("sync") || message.localizedCaseInsensitiveContains("I/O error"), "\(message.suffix(2000))")
        try await expectCleanResume(f, failed.stdout)
    }

    @Test("durable-resume start: EMFILE on pipe: items that cannot start are failures (no trap); resume retries them to completion")
    func resumeNoPipes() async throws {
        let f = ResumeFixture(count: 40)
        guard let faults = FaultLibrary.environment([.pipe(after: 10)], program: "durable-resume") else { return }
        let failed = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", "cat", "--jobs", "2", "--batch-size", "10", "--quiet"],
            in: f.dir, environment: faults)
        #expect(failed.status != 132 && failed.status < 128, "exit \(failed.status): a trap\n\(failed.stderr.suffix(2000))")
        #expect(!failed.stderr.contains("Fatal error"), "\(failed.stderr.suffix(2000))")
        let message = try f.read { try String.fetchOne($0, sql: "SELECT last_error_message FROM results WHERE error_occurred = 1 LIMIT 1") }
        #expect(message?.contains("EMFILE") == true, "\(message ?? "no failed item")")
        try await expectCleanResume(f, failed.stdout, retryErrors: true)
    }

    /// `resume` without faults: exit 0, every item once, all succeeded.
    /// The next run completes every item once: `resume` (`--retry-errors-only` when items failed) of the run `start`
    /// printed, or — when the fault came before the run was created (during ingest) — `start` again.
    func expectCleanResume(
        _ f: ResumeFixture, _ startOutput: String, retryErrors: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var printed = startOutput.split(separator: "\n").first { $0.hasPrefix("run ") }.map { String($0.dropFirst(4)) }
        if printed == nil {
            let again = try await ResumeCLI.run(["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", "cat"], in: f.dir)
            #expect(again.status == 0, "\(again.stderr.suffix(2000))", sourceLocation: sourceLocation)
            printed = again.stdout.split(separator: "\n").first { $0.hasPrefix("run ") }.map { String($0.dropFirst(4)) }
        }
        let id = try #require(printed, "neither start printed a run id", sourceLocation: sourceLocation)
        let resumed = try await ResumeCLI.run(
            ["resume", "--db", f.db, "--run-id", id, "--quiet"] + (retryErrors ? ["--retry-errors-only"] : []), in: f.dir)
        #expect(resumed.status == 0 || resumed.status == 5, "\(resumed.stderr.suffix(2000))", sourceLocation: sourceLocation)
        try f.read { (db: Database) throws -> Void in
            let total = try Int.fetchOne(db, sql: "SELECT total_items FROM runs WHERE id = ?", arguments: [id]) ?? -1
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results WHERE run_id = ?", arguments: [id]) == total, sourceLocation: sourceLocation)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT item_id) FROM results WHERE run_id = ?", arguments: [id]) == total, sourceLocation: sourceLocation)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results WHERE error_occurred = 1") == 0, sourceLocation: sourceLocation)
            #expect(try String.fetchOne(db, sql: "SELECT status FROM runs WHERE id = ?", arguments: [id]) == "completed", sourceLocation: sourceLocation)
        }
    }

    // MARK: durable-backfill

    @Test("durable-backfill: EIO on the database's sync: exit ≠ 0 naming the database; resume completes with the one-shot result")
    func backfillFailedSync() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 800, withoutObservations: 100)
        let reference = dir.file("reference.db")
        try Incident.oneShot(copyOf: db, to: reference)
        guard let faults = FaultLibrary.environment([.sync(pathContaining: "/app.db", after: 6)], program: "durable-backfill") else { return }
        let failed = try await ChildProcess.run(
            ChildProcess.backfill, BackfillCLITests.runArguments(db, ["--batch-size", "20", "--nice-ratio", "0"]), environment: faults)
        #expect(failed.output.contains("durable-fault: "), "the fault was injected: \(failed.output.suffix(2000))")
        #expect(failed.status != 0, "a failed sync ended in exit 0: \(failed.output.suffix(2000))")
        #expect(!failed.output.contains("completed: "), "\(failed.output.suffix(2000))")
        let message = failed.output.split(separator: "\n").filter { !$0.hasPrefix("durable-fault:") }.joined(separator: "\n")
        #expect(message.contains(db.string), "the error names the database: \(message.suffix(2000))")
        let resumed = try await BackfillCLITests.resume(db)
        #expect(resumed.status == 0, "\(resumed.output.suffix(2000))")
        #expect(try Incident.rows(db) == Incident.rows(reference))
    }
}
