import DurableIO
import DurableRun
import Foundation
import SystemPackage
import Testing

/// `durable-extract` where users meet it (issue 14): nested trees with long and odd names, globs that match
/// nothing, an output inside its own inputs, a lost output seen by `status`, a lock held by a foreign process,
/// a stopped process, read-only commands on a typo, and what a power cut leaves behind.
@Suite("durable-extract keeps its promises in ordinary use (the built binary)", .inATestSlot)
struct ExtractPromisesTests {
    let dir = TemporaryDirectory()
    var inputs: FilePath { dir.file("inputs") }
    var output: FilePath { dir.file("out.jsonl") }

    static let rowCommand = #"printf '{"bytes":%s}' "$(wc -c < {})""#

    func extract(_ arguments: [String]) async throws -> (status: Int32, text: String) {
        let child = try ChildProcess(ChildProcess.built("durable-extract"), arguments)
        let status = await child.wait()
        return (status, child.text)
    }

    func makeInputs(_ count: Int, in folder: FilePath? = nil) throws {
        let folder = folder ?? inputs
        try FileManager.default.createDirectory(atPath: folder.string, withIntermediateDirectories: true)
        for i in 0..<count { writeRaw("line \(i)\n", to: folder.appending(String(format: "f%04d.txt", i))) }
    }

    func runArguments(command: String = rowCommand, jobs: Int = 4, _ extra: [String] = []) -> [String] {
        ["run", "--inputs", inputs.string, "--output", output.string, "--jobs", "\(jobs)", "--command", command] + extra
    }

    func lines(_ path: FilePath) -> Int { readFile(path).filter { $0 == 0x0A }.count }

    /// The keys of the JSONL output at `path`.
    func outputKeys(_ path: FilePath) throws -> [String] {
        try readText(path).split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return object["key"] as! String
        }
    }

    // MARK: 3. Directory listing

    // The debug build lists names slowly (swift-system's debug-only checks on every component: over a minute for
    // 22,000 long names), so the built binary gets 22 folders × 100 here; DirectoryListingTests lists folders past
    // readdir's buffer through the same seam, under AddressSanitizer in CI, where a read past a dirent is reported.
    @Test("status --json --inputs over 22 folders × 100 files with long and odd names: exit 0 every time, three times")
    func nestedTreeNeverCrashes() async throws {
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for folder in 0..<22 {
            // Folder and file names of every length, so records end at every offset of readdir's buffer.
            let folderName = "folder-\(folder)-" + String(repeating: "d", count: folder * 11)
            let folderPath = inputs.appending(folderName)
            try FileManager.default.createDirectory(atPath: folderPath.string, withIntermediateDirectories: false)
            let folderDescriptor = try FileDescriptor.open(folderPath, .readOnly, options: [.directory, .closeOnExec])
            defer { try? folderDescriptor.close() }
            for i in 0..<100 {
                var name = Array("\(i)-".utf8) + Array(repeating: UInt8(ascii: "n"), count: (i * 37 + folder) % 230)
                switch i % 5 {
                case 0: name = Array("-".utf8) + name  // a leading dash
                case 1: name += [0xFF, 0xFE]  // not UTF-8
                case 2: name += Array(" with\nnewline".utf8)
                default: name += Array(".txt".utf8)
                }
                createRaw(in: folderDescriptor, named: name)
            }
        }
        // State for the output, from a small run over the same tree (it lists the whole tree too).
        let first = try await extract([
            "run", "--inputs", inputs.string, "--glob", "folder-0-/*", "--output", output.string, "--builtin", "file-stats",
        ])
        #expect(first.status == 0, "\(first.text)")
        let done = lines(output)
        #expect(done > 50)
        for attempt in 1...3 {
            let status = try await extract(["status", "--json", "--output", output.string, "--inputs", inputs.string])
            #expect(status.status == 0, "attempt \(attempt): \(status.text)")
            let object = try JSONSerialization.jsonObject(with: Data(status.text.utf8)) as? [String: Any]
            #expect(object?["pending"] as? Int == 2_200 - done, "attempt \(attempt): \(status.text)")
            if status.status != 0 { break }
        }
    }

    // MARK: 7. Empty inputs and globs that match nothing

    @Test("--glob '*.mp4' over files that are all in subfolders: exit 1 naming 0 of N and '**/*.mp4'; that matches at any depth")
    func globMatchingNothingIsRefused() async throws {
        try FileManager.default.createDirectory(atPath: inputs.appending("a/b").string, withIntermediateDirectories: true)
        for name in ["a/1.mp4", "a/2.mp4", "a/b/3.mp4", "a/notes.txt"] { writeRaw("x\n", to: inputs.appending(name)) }

        let refused = try await extract(runArguments(["--glob", "*.mp4"]))
        #expect(refused.status == 1, "\(refused.text)")
        #expect(refused.text.contains("--glob '*.mp4' matched 0 of 4 files under \(inputs)"), "\(refused.text)")
        #expect(refused.text.contains("'**/*.mp4'"), "\(refused.text)")
        #expect(!FileManager.default.fileExists(atPath: output.string), "nothing written")

        let everywhere = try await extract(runArguments(["--glob", "**/*.mp4"]))
        #expect(everywhere.status == 0, "\(everywhere.text)")
        #expect(try outputKeys(output).sorted() == ["a/1.mp4", "a/2.mp4", "a/b/3.mp4"])

        let allowed = try await extract([
            "run", "--inputs", inputs.string, "--glob", "*.mp4", "--output", dir.file("empty.jsonl").string,
            "--command", "true", "--allow-empty",
        ])
        #expect(allowed.status == 0, "\(allowed.text)")
        #expect(allowed.text.contains("complete: 0 rows verified"), "\(allowed.text)")
    }

    @Test("A run with zero inputs (an empty directory, an empty list) exits 1 and says so")
    func zeroInputsAreRefused() async throws {
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        let empty = try await extract(runArguments())
        #expect(empty.status == 1, "\(empty.text)")
        #expect(empty.text.contains("no input files under \(inputs)"), "\(empty.text)")

        let list = dir.file("list.txt")
        writeRaw("\n\n", to: list)
        let emptyList = try await extract(["run", "--input-list", list.string, "--output", output.string, "--command", "true"])
        #expect(emptyList.status == 1, "\(emptyList.text)")
        #expect(emptyList.text.contains("the input list \(list) names no inputs"), "\(emptyList.text)")
    }

    // MARK: 10. An output inside its inputs

    @Test("An output inside --inputs: the next run leaves the run's own state files out, and says so once")
    func outputInsideInputsIsNotItsOwnInput() async throws {
        try makeInputs(5)
        let inside = inputs.appending("out.jsonl")
        let flaky = #"case {} in *f0003*) exit 7;; *) printf '{"ok":1}';; esac"#
        let arguments = ["run", "--inputs", inputs.string, "--output", inside.string, "--command", flaky, "--heartbeat", "1s"]
        let first = try await extract(arguments)
        #expect(first.status == 1, "one input fails: \(first.text)")
        #expect(FileManager.default.fileExists(atPath: inside.appendingToName(".errors.jsonl").string))

        let second = try await extract(arguments)
        #expect(second.status == 1, "\(second.text)")
        #expect(second.text.contains("4 rows verified (4 already done, 0 extracted, 1 failed)"), "\(second.text)")
        let notes = second.text.components(separatedBy: "this run's own state").count - 1
        #expect(notes == 1, "said once: \(second.text)")
        #expect(second.text.contains("left out"), "\(second.text)")
        #expect(try outputKeys(inside).allSatisfy { $0.hasPrefix("f") }, "no state file extracted")

        let status = try await extract(["status", "--json", "--output", inside.string, "--inputs", inputs.string])
        let object = try JSONSerialization.jsonObject(with: Data(status.text.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8)) as? [String: Any]
        #expect(object?["pending"] as? Int == 1, "\(status.text)")
    }

    // MARK: 11. status on an output that lost rows

    @Test("status after the output lost rows: exit 3, verify's words, the repair command")
    func statusFlagsLostRows() async throws {
        try makeInputs(20)
        let run = try await extract(runArguments())
        #expect(run.status == 0, "\(run.text)")
        let kept = readText(output).split(separator: "\n").prefix(8).joined(separator: "\n") + "\n"
        writeRaw(kept, to: output)

        let status = try await extract(["status", "--output", output.string])
        #expect(status.status == 3, "\(status.text)")
        #expect(status.text.contains("20 done (8 rows in the output, 0 staged)"), "\(status.text)")
        #expect(status.text.contains("ledger lists 20 keys but output and staging hold 8: 12 missing"), "\(status.text)")
        #expect(status.text.contains("durable-extract repair --output \(output)"), "\(status.text)")

        let json = try await extract(["status", "--json", "--output", output.string])
        #expect(json.status == 3, "\(json.text)")
        let line = json.text.split(separator: "\n").first { $0.hasPrefix("{") }.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(object?["missing"] as? Int == 12, "\(json.text)")
    }

    // MARK: 12. A lock held by a process that is not DurableIO

    @Test("A lock held by util-linux flock: the refusal and status name flock's pid, not the previous run's")
    func foreignLockHolderIsNamed() async throws {
        try makeInputs(3)
        let first = try await extract(runArguments())
        #expect(first.status == 0, "\(first.text)")
        let lockPath = output.appendingToName(".lock")
        let previous = LockOwner.decodeForTests(readFile(lockPath))
        #expect(previous != nil, "the first run left its owner record")

        let holder = try ChildProcess(URL(fileURLWithPath: "/usr/bin/flock"), [lockPath.string, "sleep", "60"])
        defer { kill(holder.process.processIdentifier, SIGKILL) }
        let pid = holder.process.processIdentifier
        try await offPool {
            let deadline = Date().addingTimeInterval(20)
            while !(try String(contentsOfFile: "/proc/locks", encoding: .utf8)).contains(" \(pid) ") && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }

        let refused = try await extract(runArguments())
        #expect(refused.status == 4, "\(refused.text)")
        #expect(refused.text.contains("held by pid \(pid) (flock)"), "\(refused.text)")
        if let previous {
            #expect(refused.text.contains("record") && refused.text.contains("stale"), "\(refused.text)")
            #expect(!refused.text.contains("held by pid \(previous.pid) "), "\(refused.text)")
        }

        let status = try await extract(["status", "--output", output.string])
        #expect(status.status == 0, "\(status.text)")
        #expect(status.text.contains("pid \(pid) (flock)"), "\(status.text)")
        #expect(!status.text.contains("running: pid \(previous?.pid ?? -1) "), "\(status.text)")
    }

    // MARK: 14. SIGSTOP / SIGCONT

    @Test("A run stopped with SIGSTOP for twice the stall timeout, then SIGCONT: items finished meanwhile, no stall")
    func stoppedProcessIsNotAStall() async throws {
        try makeInputs(24)
        let slow = #"sleep 0.4; printf '{"ok":1}'"#
        let ledger = output.appendingToName(".done")
        let status = try await offPool {
            let child = try ChildProcess(
                ChildProcess.built("durable-extract"), runArguments(command: slow, jobs: 4, ["--stall-timeout", "6s"]))
            let deadline = Date().addingTimeInterval(60)
            while lines(ledger) < 4 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            kill(child.process.processIdentifier, SIGSTOP)
            Thread.sleep(forTimeInterval: 13)  // the items in flight finish while the runner is stopped (> 2 × 6 s)
            kill(child.process.processIdentifier, SIGCONT)
            return (child.wait(), child.text)
        }
        #expect(status.0 == 0, "\(status.1)")
        #expect(status.1.contains("complete: 24 rows verified"), "\(status.1)")
        #expect(!status.1.contains("no progress for"), "\(status.1)")
    }

    // MARK: 15. Read-only commands on an output where nothing has run

    @Test("status and verify on an output that does not exist: exit 1, 'nothing has run for this output', nothing created")
    func readOnlyCommandsCreateNothing() async throws {
        let typo = dir.file("typo.jsonl")
        for command in ["status", "verify"] {
            let result = try await extract([command, "--output", typo.string])
            #expect(result.status == 1, "\(command): \(result.text)")
            #expect(result.text.contains("nothing has run for this output: \(typo)"), "\(command): \(result.text)")
            #expect(dir.names.isEmpty, "\(command) created \(dir.names)")
        }
    }

    // MARK: 19. After a power cut

    @Test("Rows durable in staging but not in the ledger are reported at recovery, even when the run then stops early")
    func stagingNoteAtRecovery() async throws {
        try makeInputs(4)
        let staging = try StagingFile.open(at: output.appendingToName(".rows.jsonl"))
        try await staging.append(try KeyedRow(key: "f0000.txt", json: Array(#"{"bytes":1}"#.utf8)))
        try staging.close()
        // Every other item fails and the budget of 0 stops the run before it finishes.
        let run = try await extract(runArguments(command: "exit 9", jobs: 1, ["--max-failures", "0"]))
        #expect(run.status == 1, "\(run.text)")
        #expect(run.text.contains("past the budget"), "\(run.text)")
        #expect(run.text.contains("1 row(s) were durable in staging but not yet in the ledger"), "\(run.text)")
    }

    @Test("A torn staging tail is reported as cut from the staging file, not from the ledger")
    func tornStagingNamesItsFile() async throws {
        try makeInputs(3)
        let stagingPath = output.appendingToName(".rows.jsonl")
        writeRaw(#"{"key":"f0000.txt","bytes":1}"# + "\n" + #"{"key":"f0001.txt","by"#, to: stagingPath)
        let run = try await extract(runArguments())
        #expect(run.status == 0, "\(run.text)")
        #expect(run.text.contains("cut from out.jsonl.rows.jsonl"), "\(run.text)")
        #expect(!run.text.contains("cut from the ledger"), "\(run.text)")
    }

    @Test("Stale temporary files of the run's own state are removed at start; a live writer's and others' are kept")
    func staleTemporaryFilesAreCleaned() async throws {
        try makeInputs(3)
        let live = try ChildProcess(URL(fileURLWithPath: "/bin/sleep"), ["60"])
        defer { kill(live.process.processIdentifier, SIGKILL) }
        let livePid = live.process.processIdentifier
        var deadPid: Int32 = 4_000_000
        while kill(deadPid, 0) == 0 || errno == EPERM { deadPid -= 1 }

        let dead = dir.file(".out.jsonl.heartbeat.durable-tmp-\(deadPid)-1a2b")
        let reused = dir.file(".out.jsonl.done.durable-tmp-\(livePid)-3c4d")  // older than the live process: pid reused
        let inFlight = dir.file(".out.jsonl.heartbeat.durable-tmp-\(livePid)-5e6f")
        let foreign = dir.file(".notes.txt.durable-tmp-\(deadPid)-7a8b")
        for path in [dead, reused, inFlight, foreign] { writeRaw([], to: path) }
        var past = [timespec(tv_sec: time(nil) - 3_600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3_600, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, reused.string, &past, 0) == 0)

        let run = try await extract(runArguments())
        #expect(run.status == 0, "\(run.text)")
        let names = Set(dir.names)
        #expect(!names.contains(dead.lastComponent!.string), "\(names)")
        #expect(!names.contains(reused.lastComponent!.string), "\(names)")
        #expect(names.contains(inFlight.lastComponent!.string), "a live process's file is kept: \(names)")
        #expect(names.contains(foreign.lastComponent!.string), "not ours: \(names)")
    }

    @Test("Item commands get this process's environment byte for byte: a value that is not UTF-8 is not replaced")
    func environmentBytesReachTheItemCommand() async throws {
        try makeInputs(3)
        // The command prints the hex of $ODD as the item sees it; the CLI is started with ODD=caf\xE9 (Latin-1).
        let command = #"printf '{"odd":"%s"}' "$(printf %s "$ODD" | od -An -tx1 | tr -d ' \n')""#
        let script = #"ODD=$(printf 'caf\351'); export ODD; exec "$0" "$@""#
        let child = try ChildProcess(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", script, ChildProcess.built("durable-extract").path] + runArguments(command: command, jobs: 2))
        #expect(await child.wait() == 0, "\(child.text)")
        let rows = try readText(output).split(separator: "\n").map { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        }
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { $0["odd"] as? String == "636166e9" }, "the bytes c a f 0xE9: \(rows)")
    }
}
