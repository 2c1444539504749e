import Foundation
import GRDB
import SystemPackage
import Testing

/// Retries within a run (issue 16): an item command that exits 75 (`EX_TEMPFAIL`) or times out is tried again,
/// up to `--retries`, after a jittered exponential backoff; any other failure is permanent for the run. Every
/// failed attempt is recorded in the errors file with its number. The built durable-extract, real commands.
@Suite("durable-extract retries transient failures within the run (the built binary)", .inATestSlot)
struct RetryCLITests {
    let fixture = ExtractFixture()

    /// A command that fails with `status` on its first `failures` attempts for each input, then prints a row;
    /// each attempt is counted in `counts/<input name>`.
    func flaky(failures: Int, status: Int) throws -> String {
        let counts = fixture.dir.file("counts")
        try FileManager.default.createDirectory(atPath: counts.string, withIntermediateDirectories: true)
        return "c='\(counts)'/$(basename {}); n=$(( $(cat \"$c\" 2>/dev/null || echo 0) + 1 )); echo $n > \"$c\"; "
            + "[ $n -le \(failures) ] && { echo \"attempt $n: busy\" >&2; exit \(status); }; printf '{\"attempts\":%s}' $n"
    }

    func attempts(of name: String) -> Int { Int(readText(fixture.dir.file("counts").appending(name)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 }

    func errorLines() throws -> [[String: Any]] {
        try readText(fixture.output.appendingToName(".errors.jsonl")).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    @Test("exit 75 twice, then a row: 3 attempts, 2 recorded failures numbered 1 and 2, 1 row each, exit 0")
    func transientThenSuccess() async throws {
        try fixture.makeInputs(3)
        let result = try await fixture.run(["--retries", "3", "--retry-delay", "10ms"], command: try flaky(failures: 2, status: 75))
        #expect(result.status == 0, "\(result.text)")
        #expect(result.text.contains("complete: 3 rows verified"), "\(result.text)")
        for i in 0..<3 { #expect(attempts(of: String(format: "f%04d.txt", i)) == 3) }
        let errors = try errorLines()
        #expect(errors.count == 6, "two failed attempts per input: \(errors)")
        let first = errors.filter { ($0["key"] as? String) == "f0000.txt" }
        #expect(first.compactMap { $0["attempt"] as? Int }.sorted() == [1, 2], "\(first)")
        #expect((first.first?["message"] as? String)?.contains("exit status 75") == true, "\(first)")
        #expect(readFile(fixture.output).filter { $0 == 0x0A }.count == 3)
    }

    @Test("exit 1 is permanent: one attempt, no retry, the item failed (exit 1); past --retries the last error is kept")
    func permanentAndExhausted() async throws {
        try fixture.makeInputs(2)
        let permanent = try await fixture.run(["--retries", "3", "--retry-delay", "10ms"], command: try flaky(failures: 5, status: 1))
        #expect(permanent.status == 1, "\(permanent.text)")
        #expect(attempts(of: "f0000.txt") == 1, "no retry for exit 1")
        #expect(try errorLines().count == 2)

        // The next run: exit 75 now, but fewer retries than failures left: 1 + 2 attempts, all recorded.
        try FileManager.default.removeItem(atPath: fixture.dir.file("counts").string)
        let exhausted = try await fixture.run(["--retries", "2", "--retry-delay", "10ms"], command: try flaky(failures: 5, status: 75))
        #expect(exhausted.status == 1, "\(exhausted.text)")
        #expect(attempts(of: "f0000.txt") == 3)
        let f0 = try errorLines().filter { ($0["key"] as? String) == "f0000.txt" }.compactMap { $0["attempt"] as? Int }
        #expect(f0.sorted() == [1, 2, 3, 4], "attempt 1 of the first run, then 2, 3, 4: \(f0)")
    }

    @Test("--retry-exit-codes 111: a command that exits 111 is retried")
    func configurableExitCodes() async throws {
        try fixture.makeInputs(1)
        let retried = try await fixture.run(
            ["--retries", "2", "--retry-delay", "10ms", "--retry-exit-codes", "111"], command: try flaky(failures: 1, status: 111))
        #expect(retried.status == 0, "\(retried.text)")
        #expect(attempts(of: "f0000.txt") == 2)
    }

    // MARK: durable-resume

    @Test("durable-resume: exit 75 twice, then a result: one result per item with attempt_count 3 and the first error kept; exit 1 is not retried")
    func resumeRetries() async throws {
        let f = ResumeFixture(count: 4)
        let counts = "\(f.dir)/counts"
        try FileManager.default.createDirectory(atPath: counts, withIntermediateDirectories: true)
        // Items 1–3 fail with 75 on their first two attempts; item 4 fails with 1 every time.
        let command = #"input=$(cat); c='\#(counts)'/{}; n=$(( $(cat "$c" 2>/dev/null || echo 0) + 1 )); echo $n > "$c"; "#
            + #"[ {} = 4 ] && { echo permanent >&2; exit 1; }; [ $n -le 2 ] && { echo "busy $n" >&2; exit 75; }; printf '%s' "$input""#
        let start = try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", command, "--jobs", "2",
             "--retries", "3", "--retry-delay", "10ms", "--quiet"], in: f.dir)
        #expect(start.status == 1, "item 4 failed: \(start.stderr)")
        let rows = try f.read { db in
            try Row.fetchAll(db, sql: """
                SELECT i.item_key, r.attempt_count, r.error_occurred, r.first_error_message FROM results r
                JOIN source_items i ON i.id = r.item_id ORDER BY i.position
                """)
        }
        #expect(rows.count == 4, "one result per item")
        for row in rows.prefix(3) {
            #expect(row[1] as Int == 3 && row[2] as Int == 0, "\(row)")
            #expect((row[3] as String?)?.contains("exit status 75") == true, "\(row)")
        }
        #expect(rows[3][1] as Int == 1 && rows[3][2] as Int == 1, "exit 1 is permanent: \(rows[3])")
        #expect(readText(FilePath("\(counts)/4")).hasPrefix("1"), "item 4 ran once")
    }
}
