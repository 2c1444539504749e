import Foundation
import SystemPackage

/// A temporary directory with `inputs/` of small files and an output path, and the built durable-extract to run
/// over them: what the CLI tests of durable-extract share.
struct ExtractFixture {
    let dir = TemporaryDirectory()
    var inputs: FilePath { dir.file("inputs") }
    var output: FilePath { dir.file("out.jsonl") }

    /// `count` files `f0000.txt`… of one line each in `inputs/`.
    func makeInputs(_ count: Int) throws {
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 0..<count { writeRaw("line \(i)\n", to: inputs.appending(String(format: "f%04d.txt", i))) }
    }

    /// `durable-extract run` over the inputs with `command` at `--jobs 2`, then `extra`: the exit status and what it
    /// printed.
    func run(_ extra: [String], command: String = #"printf '{"ok":1}'"#) async throws -> (status: Int32, text: String) {
        let child = try ChildProcess(
            ChildProcess.built("durable-extract"),
            ["run", "--inputs", inputs.string, "--output", output.string, "--jobs", "2", "--command", command] + extra)
        let status = await child.wait()
        return (status, child.text)
    }
}
