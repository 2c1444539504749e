import DurableIO
import DurableRun
import Foundation
import Testing

/// Failure summaries (issue 17): a run with failures names its most common failure messages with their counts, not
/// only how many items failed; a row that is not JSON shows the first bytes the command printed, escaped; and
/// `{{}}` passes a literal `{}` to an item command. The built binaries, and the pieces they use.
@Suite("Failure summaries: the most common messages, the bytes printed, a literal {}", .inATestSlot)
struct FailureSummaryTests {
    @Test("durable-extract: 4 items exit 3, 1 prints non-JSON: the summary counts each message; the non-JSON one shows its bytes")
    func extract() async throws {
        let dir = TemporaryDirectory()
        let inputs = dir.file("in")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 0..<7 { writeRaw("x\n", to: inputs.appending("f\(i).txt")) }
        let command = #"case {} in *f[0-3].txt) echo 'no such frame' >&2; exit 3;; *f4.txt) printf 'Traceback:\n\tboom "x"';; *) printf '{"n":1}';; esac"#
        let r = try await BuiltCLI.run(
            "durable-extract", ["run", "--inputs", inputs.string, "--output", dir.file("out.jsonl").string, "--command", command, "--quiet"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("5 items failed"), "\(r.stderr)")
        #expect(r.stderr.contains("most common failures: 4 × exit status 3: no such frame · 1 × "), "\(r.stderr)")
        let shown = #"the row for key <key> is not valid JSON: 20 bytes, starting "Traceback:\n\tboom \"x\"""#
        #expect(r.stderr.contains(shown), "\(r.stderr)")
        let errors = readText(dir.file("out.jsonl.errors.jsonl"))
        #expect(errors.contains("the row for key f4.txt is not valid JSON: 20 bytes"), "\(errors)")
    }

    @Test("durable-resume: a failed run names its most common failures; output that is not JSON shows its first bytes")
    func resume() async throws {
        let f = ResumeFixture(count: 9, failEvery: 3)
        let command = #"input=$(cat); case "$input" in *'"fail":"yes"'*) echo 'quota exceeded' >&2; exit 3;; *'"id":"1"'*) printf 'oops, not JSON';; *) printf '%s' "$input";; esac"#
        let r = try await BuiltCLI.run(
            "durable-resume", ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", command, "--quiet"], in: f.dir)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("most common failures: 3 × exit status 3: quota exceeded · 1 × the command's output is not valid JSON: 14 bytes, starting \"oops, not JSON\""), "\(r.stderr)")
    }

    @Test("{{}} is a literal {} in an item command; {} the shell-quoted argument")
    func literalBraces() async throws {
        let command = ItemCommand(#"printf '%s %s' {} '{{}}' {{}}x{}"#)
        #expect(command.commandLine(for: "it's a b") == #"printf '%s %s' 'it'\''s a b' '{}' {}x'it'\''s a b'"#)
        #expect(command.commandLine(forBytes: Array("x".utf8)) == Array(#"printf '%s %s' 'x' '{}' {}x'x'"#.utf8))

        let dir = TemporaryDirectory()
        let inputs = dir.file("in")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        writeRaw("x\n", to: inputs.appending("a.txt"))
        let output = dir.file("out.jsonl")
        let r = try await BuiltCLI.run(
            "durable-extract", ["run", "--inputs", inputs.string, "--output", output.string, "--quiet",
                                "--command", #"printf '{"braces":"%s","name":"%s"}' '{{}}' "$(basename {})""#])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(readText(output) == #"{"key":"a.txt","braces":"{}","name":"a.txt"}"# + "\n", "\(readText(output))")
    }

    @Test("FailureTally: most frequent first, ties in the order seen, keys taken out; ByteExcerpt escapes and cuts at 60 bytes")
    func tally() {
        var tally = FailureTally()
        #expect(tally.summary() == nil)
        tally.record("timed out")
        for key in ["a", "b", "c"] { tally.record("the row for key \(key).txt is not valid JSON", key: "\(key).txt") }
        tally.record("exit status 2")
        tally.record("exit status 2")
        tally.record("signal 9")
        #expect(tally.mostCommon(2) == [.init(message: "the row for key <key> is not valid JSON", count: 3), .init(message: "exit status 2", count: 2)])
        #expect(tally.summary(limit: 2) == "most common failures: 3 × the row for key <key> is not valid JSON · 2 × exit status 2 (and 2 other messages, 2 items)")
        #expect(ByteExcerpt.escaped(Array("a\"b\\\n\u{7F}".utf8)) == #""a\"b\\\n\x7f""#)
        #expect(ByteExcerpt.escaped(Array(repeating: UInt8(ascii: "x"), count: 61)) == "\"" + String(repeating: "x", count: 60) + "\"…")
    }
}
