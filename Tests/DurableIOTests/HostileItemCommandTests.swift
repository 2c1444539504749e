import DurableIO
import DurableRun
import Foundation
import GRDB
import SystemPackage
import Testing

/// Item commands as users write them — ignoring stdin, exiting at once, missing, run beyond the descriptor limit,
/// given odd file names — through the built binaries. Never a trap; the item's outcome is its exit status and
/// output; a command that cannot start is the item's failure, retried by the next run.
@Suite("Hostile item commands (the built binaries)", .serialized, .inATestSlot)
struct HostileItemCommandTests {
    /// `durable-resume start` with `command` over 40 items, to its end.
    func start(_ f: ResumeFixture, command: String) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ResumeCLI.run(
            ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", command, "--jobs", "4", "--batch-size", "10", "--quiet"],
            in: f.dir)
    }

    @Test("durable-resume: a command that prints without reading its stdin succeeds for every item (no trap, exit 0)")
    func commandIgnoresStandardInput() async throws {
        let f = ResumeFixture(count: 40)
        let run = try await start(f, command: #"echo "{\"a\":1}""#)
        #expect(run.status == 0, "exit \(run.status)\n\(run.stderr)")
        #expect(!run.stderr.contains("Fatal error"), "\(run.stderr)")
        try f.read { (db: Database) throws -> Void in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results WHERE error_occurred = 0") == 40)
            #expect(try String.fetchOne(db, sql: "SELECT status FROM runs") == "completed")
        }
    }

    @Test("durable-resume: `exit 3` and a script that does not exist are item failures, recorded; resume does not trap either", arguments: [
        ("exit 3", "exit status 3"), ("/no/such/script.sh", "exit status 127"),
    ])
    func commandExitsAtOnce(command: String, status: String) async throws {
        let f = ResumeFixture(count: 40)
        let run = try await start(f, command: command)
        #expect(run.status != 132 && run.status < 128, "exit \(run.status): a trap\n\(run.stderr)")
        #expect(!run.stderr.contains("Fatal error"), "\(run.stderr)")
        try f.read { (db: Database) throws -> Void in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results WHERE error_occurred = 1") == 40)
            let message = try String.fetchOne(db, sql: "SELECT last_error_message FROM results LIMIT 1") ?? ""
            #expect(message.contains(status), "\(message)")
        }
        let id = try #require(run.stdout.split(separator: "\n").first.map { String($0.dropFirst(4)) })
        let resumed = try await ResumeCLI.run(["resume", "--db", f.db, "--run-id", id, "--quiet"], in: f.dir)
        #expect(resumed.status != 132 && resumed.status < 128, "exit \(resumed.status): a trap\n\(resumed.stderr)")
        #expect(!resumed.stderr.contains("Fatal error"), "\(resumed.stderr)")
    }

    @Test("durable-extract --jobs 250 under ulimit -n 1024: runs as many at once as the limit holds, says so, never traps or hangs; a rerun completes each once")
    func beyondTheDescriptorLimit() async throws {
        let dir = TemporaryDirectory()
        let inputs = dir.file("inputs")
        let output = dir.file("out.jsonl")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 0..<500 { writeRaw("item \(i)\n", to: inputs.appending(String(format: "f%04d.txt", i))) }
        let extract = ChildProcess.built("durable-extract").path
        let command = #"sleep 0.3; printf '{"bytes":%s}' "$(wc -c < {})""#
        let arguments = ["run", "--inputs", inputs.string, "--output", output.string, "--command", command]
        let quoted = ([extract] + arguments + ["--jobs", "250"]).map(ItemCommand.shellQuoted).joined(separator: " ")
        let limited = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "ulimit -n 1024 && exec \(quoted)"])
        let status = await limited.wait()
        #expect(status != 132 && status < 128, "exit \(status): a trap\n\(limited.text.suffix(3000))")
        #expect(!limited.text.contains("Fatal error"), "\(limited.text.suffix(3000))")
        #expect(status == 0, "\(limited.text.suffix(3000))")
        #expect(limited.text.contains("--jobs 250 needs about 2064 descriptors but the limit is 1024 (ulimit -n): running 120 at a time"), "\(limited.text.suffix(3000))")

        let rerun = try ChildProcess(ChildProcess.built("durable-extract"), arguments + ["--jobs", "8"])
        #expect(await rerun.wait() == 0, "\(rerun.text.suffix(3000))")
        #expect(rerun.text.contains("complete: 500 rows verified"), "\(rerun.text.suffix(2000))")
        let keys = readText(output).split(separator: "\n").map { line in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["key"] as? String ?? ""
        }
        #expect(keys.count == 500 && Set(keys).count == 500)
    }

    @Test("durable-resume --jobs 250 under ulimit -n 1024: runs as many at once as the limit holds, says so, never traps or hangs; every item once")
    func resumeBeyondTheDescriptorLimit() async throws {
        let f = ResumeFixture(count: 500)
        let arguments = ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", "sleep 0.3; cat",
                         "--jobs", "250", "--batch-size", "50", "--quiet"]
        // `timeout` turns a hang (an item command left unreaped) into a failure instead of a stuck suite.
        let quoted = (["timeout", "-s", "KILL", "300", ResumeCLI.executable.path] + arguments).map(ItemCommand.shellQuoted).joined(separator: " ")
        let limited = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "cd \(ItemCommand.shellQuoted(f.dir)) && ulimit -n 1024 && exec \(quoted)"])
        let status = await limited.wait()
        #expect(status != 132 && status < 128, "exit \(status): a trap or a hang\n\(limited.text.suffix(3000))")
        #expect(status == 0, "\(limited.text.suffix(3000))")
        #expect(limited.text.contains("--jobs 250 needs about 2064 descriptors but the limit is 1024 (ulimit -n): running 120 at a time"), "\(limited.text.suffix(3000))")
        try f.read { (db: Database) throws -> Void in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results WHERE error_occurred = 0") == 500)
            #expect(try String.fetchOne(db, sql: "SELECT status FROM runs") == "completed")
        }
    }

    @Test("durable-extract: a non-UTF-8 name beside its U+FFFD twin: each item's command reads its own file")
    func nonUTF8NameBesideItsTwin() async throws {
        let dir = TemporaryDirectory()
        let inputs = dir.file("inputs")
        let output = dir.file("out.jsonl")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        let raw = inputs.appending(FilePath.Component(platformBytes: [0x78, 0xFF] + Array(".txt".utf8)))
        try writeBytes(Array("raw".utf8), to: raw)  // 3 bytes
        writeRaw("twin!!", to: inputs.appending("x\u{FFFD}.txt"))  // 6 bytes
        let run = try ChildProcess(
            ChildProcess.built("durable-extract"),
            ["run", "--inputs", inputs.string, "--output", output.string, "--jobs", "2",
             "--command", #"printf '{"bytes":%s}' "$(wc -c < {})""#])
        let status = await run.wait()
        #expect(status == 0, "\(run.text)")
        let sizes = readText(output).split(separator: "\n").compactMap { line in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["bytes"] as? Int
        }
        #expect(sizes.sorted() == [3, 6], "each command read its own file, not the twin: \(readText(output))")
    }

    /// Writes `bytes` to a path that may not be valid UTF-8 (Foundation would turn it into a String).
    func writeBytes(_ bytes: [UInt8], to path: FilePath) throws {
        let fd = try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        defer { try? fd.close() }
        _ = try fd.writeAll(bytes)
    }
}
