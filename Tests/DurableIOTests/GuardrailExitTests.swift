import Foundation
import SystemPackage
import Testing

/// A guardrail stop exits 6 (DESIGN.md: memory limit, stall, low disk space; everything acknowledged is durable,
/// fix the cause and rerun), not 1 like any failure (issue 16). The built durable-extract, real item commands.
@Suite("A guardrail stop exits 6 (the built binary)")
struct GuardrailExitTests {
    let dir = TemporaryDirectory()
    var inputs: FilePath { dir.file("inputs") }
    var output: FilePath { dir.file("out.jsonl") }

    func makeInputs(_ count: Int) throws {
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 0..<count { writeRaw("line \(i)\n", to: inputs.appending(String(format: "f%04d.txt", i))) }
    }

    func extract(_ extra: [String], command: String) async throws -> (status: Int32, text: String) {
        let child = try ChildProcess(
            ChildProcess.built("durable-extract"),
            ["run", "--inputs", inputs.string, "--output", output.string, "--jobs", "2", "--command", command] + extra)
        let status = await child.wait()
        return (status, child.text)
    }

    @Test("a stall (items that never finish, --stall-timeout 2s): exit 6 with the stall's figures; a rerun resumes")
    func stall() async throws {
        try makeInputs(4)
        let hang = #"case {} in *f0000*) printf '{"ok":1}' ;; *) sleep 60 ;; esac"#
        let stalled = try await extract(["--stall-timeout", "2s", "--grace", "1s"], command: hang)
        #expect(stalled.status == 6, "\(stalled.text)")
        #expect(stalled.text.contains("no progress for"), "\(stalled.text)")
        let rerun = try await extract([], command: #"printf '{"ok":1}'"#)
        #expect(rerun.status == 0, "\(rerun.text)")
        #expect(rerun.text.contains("complete: 4 rows verified"), "\(rerun.text)")
    }

    @Test("the memory limit (1 MB, below any process's resident set): exit 6 naming the limit; a rerun resumes")
    func memory() async throws {
        try makeInputs(4)
        let stopped = try await extract(["--memory-limit", "1M"], command: #"printf '{"ok":1}'"#)
        #expect(stopped.status == 6, "\(stopped.text)")
        #expect(stopped.text.contains("memory"), "\(stopped.text)")
        let rerun = try await extract([], command: #"printf '{"ok":1}'"#)
        #expect(rerun.status == 0, "\(rerun.text)")
        #expect(rerun.text.contains("complete: 4 rows verified"), "\(rerun.text)")
    }
}
