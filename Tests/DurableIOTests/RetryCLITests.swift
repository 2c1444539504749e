import Foundation
import SystemPackage
import Testing

/// Retries within a run (issue 16): an item command that exits 75 (`EX_TEMPFAIL`) or times out is tried again,
/// up to `--retries`, after a jittered exponential backoff; any other failure is permanent for the run. Every
/// failed attempt is recorded in the errors file with its number. The built durable-extract, real commands.
@Suite("durable-extract retries transient failures within the run (the built binary)")
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
}
