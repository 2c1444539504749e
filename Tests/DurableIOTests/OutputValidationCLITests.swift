import Foundation
import SystemPackage
import Testing

/// durable-extract checks the finished output before it says complete (issue 16): `--expect-rows N|N%` before
/// finalize, `--validate 'CMD {}'` on the written output before staging is removed. A run that fails either says
/// so, exits 3 and is not reported complete; nothing is lost.
@Suite("durable-extract validates its output before saying complete (the built binary)", .inATestSlot)
struct OutputValidationCLITests {
    let fixture = ExtractFixture()
    var dir: TemporaryDirectory { fixture.dir }
    var output: FilePath { fixture.output }
    var staging: FilePath { output.appendingToName(".rows.jsonl") }

    @Test("--expect-rows: 10 inputs of which 3 fail against 90%: exit 3 with both figures, not complete; 70% passes")
    func expectRows() async throws {
        try fixture.makeInputs(10)
        let failing = #"case {} in *f000[0-2]*) exit 2 ;; esac; printf '{"ok":1}'"#
        let short = try await fixture.run(["--expect-rows", "90%"], command: failing)
        #expect(short.status == 3, "\(short.text)")
        #expect(short.text.contains("expected at least 90 % of 10 rows (9), the output has 7"), "\(short.text)")
        #expect(!short.text.contains("complete:"), "\(short.text)")
        let enough = try await fixture.run(["--expect-rows", "70%"], command: failing)
        #expect(enough.status == 1, "3 items failed: exit 1 as before, after validating: \(enough.text)")
        #expect(enough.text.contains("finished with failures: 7 rows verified"), "\(enough.text)")
    }

    @Test("--validate: a command that rejects the output fails the run (exit 3), names its status and stderr, keeps staging; fixed, the rerun completes")
    func validationCommand() async throws {
        try fixture.makeInputs(5)
        let gate = dir.file("accept")
        let check = "test -f '\(gate)' || { echo 'only 5 rows, need 6' >&2; exit 4; }; test $(wc -l < {}) -eq 5"
        let rejected = try await fixture.run(["--validate", check])
        #expect(rejected.status == 3, "\(rejected.text)")
        #expect(rejected.text.contains("rejected the output (exit status 4): only 5 rows, need 6"), "\(rejected.text)")
        #expect(!rejected.text.contains("complete:"), "\(rejected.text)")
        #expect(FileManager.default.fileExists(atPath: staging.string), "staging kept")
        writeRaw("", to: gate)
        let accepted = try await fixture.run(["--validate", check])
        #expect(accepted.status == 0, "\(accepted.text)")
        #expect(accepted.text.contains("complete: 5 rows verified"), "\(accepted.text)")
        #expect(!FileManager.default.fileExists(atPath: staging.string))
    }
}
