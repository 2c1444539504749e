import DurableIO
import DurableRun
import Foundation
import SystemPackage
import Testing

/// `durable-extract`, the built binary: what an operator sees, exit codes included.
@Suite("durable-extract (the built binary)", .inATestSlot)
struct DurableExtractTests {
    let dir = TemporaryDirectory()
    var inputs: FilePath { dir.file("inputs") }
    var output: FilePath { dir.file("out.jsonl") }

    func makeInputs(_ count: Int) throws {
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 0..<count {
            writeRaw(String(repeating: "line \(i)\n", count: i % 7 + 1), to: inputs.appending(String(format: "f%04d.txt", i)))
        }
    }

    static let rowCommand = #"printf '{"bytes":%s}' "$(wc -c < {})""#

    /// Runs `durable-extract` to its end; returns exit status and everything it printed.
    func extract(_ arguments: [String]) async throws -> (status: Int32, text: String) {
        let child = try ChildProcess(ChildProcess.built("durable-extract"), arguments)
        let status = await child.wait()
        return (status, child.text)
    }

    func start(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(ChildProcess.built("durable-extract"), arguments)
    }

    func runArguments(command: String = rowCommand, jobs: Int = 4, _ extra: [String] = []) -> [String] {
        ["run", "--inputs", inputs.string, "--output", output.string, "--jobs", "\(jobs)", "--command", command] + extra
    }

    /// Keys of the JSONL output, in order.
    func outputKeys(_ path: FilePath? = nil) throws -> [String] {
        try readText(path ?? output).split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return object["key"] as! String
        }
    }

    func lines(_ path: FilePath) -> Int { readFile(path).filter { $0 == 0x0A }.count }

    @Test("SIGKILL at random moments, ten times, resuming each time: every input exactly once, accounting passes")
    func killedTenTimes() async throws {
        let count = 400
        try makeInputs(count)
        let ledger = output.appendingToName(".done")
        // Timing runs on a thread of its own: a test's sleeps on the cooperative pool can be late by seconds on a
        // busy 2-core machine, and the run would finish before it is ever killed.
        let kills = try await offPool { () throws -> Int in
            var kills = 0
            while kills < 10 {
                let before = lines(ledger)
                let child = try start(runArguments(command: "sleep 0.01; " + Self.rowCommand, jobs: 4))
                let deadline = Date().addingTimeInterval(30)
                while lines(ledger) <= before && Date() < deadline && child.process.isRunning {
                    Thread.sleep(forTimeInterval: 0.002)
                }
                Thread.sleep(forTimeInterval: Double.random(in: 0...0.15))  // a random moment
                guard child.process.isRunning else {
                    #expect(child.wait() == 0, "\(child.text)")
                    return kills  // it finished before the kill: the run is complete
                }
                child.kill9()
                kills += 1
            }
            return kills
        }
        #expect(kills == 10, "the run finished before it was killed ten times (killed \(kills) times)")
        let final = try await extract(runArguments())
        #expect(final.status == 0, "\(final.text)")
        #expect(final.text.contains("complete: \(count) rows verified"), "\(final.text)")
        let keys = try outputKeys()
        #expect(keys.count == count)
        #expect(Set(keys).count == count)
        #expect(Set(keys) == Set((0..<count).map { String(format: "f%04d.txt", $0) }))
        let verify = try await extract(["verify", "--output", output.string])
        #expect(verify.status == 0, "\(verify.text)")
        #expect(!FileManager.default.fileExists(atPath: output.appendingToName(".rows.jsonl").string))
    }

    @Test("The incident: the ledger lists more keys than output ∪ staging → run and verify exit 3; repair, then run completes")
    func incident() async throws {
        try makeInputs(200)
        let first = try await extract(["run", "--inputs", inputs.string, "--output", output.string, "--builtin", "file-stats"])
        #expect(first.status == 0, "\(first.text)")
        // Lose 60 % of the output's rows; the ledger still lists all 200.
        let kept = readText(output).split(separator: "\n").prefix(80).joined(separator: "\n") + "\n"
        try AtomicFile.write(kept, to: output)

        let refused = try await extract(["run", "--inputs", inputs.string, "--output", output.string, "--builtin", "file-stats"])
        #expect(refused.status == 3, "\(refused.text)")
        #expect(refused.text.contains("ledger lists 200 keys but output and staging hold 80: 120 missing"), "\(refused.text)")
        #expect(!refused.text.contains("complete"))
        #expect(refused.text.contains("durable-extract repair --output"))
        #expect(try outputKeys().count == 80, "a refused run changes nothing")

        let verify = try await extract(["verify", "--output", output.string])
        #expect(verify.status == 3)
        #expect(verify.text.contains("120 missing"), "\(verify.text)")

        let dryRun = try await extract(["repair", "--output", output.string, "--dry-run"])
        #expect(dryRun.status == 0)
        #expect(dryRun.text.contains("would drop 120 of 200"), "\(dryRun.text)")
        #expect(lines(output.appendingToName(".done")) == 200, "a dry run changes nothing")

        let repair = try await extract(["repair", "--output", output.string])
        #expect(repair.status == 0)
        let dropped = repair.text.split(separator: "\n").filter { $0.hasPrefix("f") }
        #expect(dropped.count == 120, "repair prints exactly what it drops")
        #expect(Set(dropped.map(String.init)).isDisjoint(with: try outputKeys()))

        let rerun = try await extract(["run", "--inputs", inputs.string, "--output", output.string, "--builtin", "file-stats"])
        #expect(rerun.status == 0, "\(rerun.text)")
        #expect(rerun.text.contains("complete: 200 rows verified (80 already done, 120 extracted, 0 failed)"), "\(rerun.text)")
        #expect(Set(try outputKeys()).count == 200)
    }

    @Test("A torn last line in staging and in the ledger: recovered, counted, quarantined; next appends clean")
    func tornTails() async throws {
        try makeInputs(20)
        let ledgerPath = output.appendingToName(".done")
        let stagingPath = output.appendingToName(".rows.jsonl")
        let ledger = try KeyLedger.open(at: ledgerPath)
        try ledger.insert(contentsOf: [RecordKey("f0000.txt"), RecordKey("f0001.txt")])
        try ledger.close()
        let staging = try StagingFile.open(at: stagingPath)
        for i in 0..<3 {
            try await staging.append(try KeyedRow(key: RecordKey(String(format: "f%04d.txt", i)), json: Array(#"{"bytes":1}"#.utf8)))
        }
        try staging.close()
        writeRaw(readFile(ledgerPath) + Array(#"{"key":"f00"#.utf8), to: ledgerPath)  // torn: no newline
        writeRaw(readFile(stagingPath) + Array(#"{"key":"f0003.txt","by"#.utf8), to: stagingPath)

        let run = try await extract(runArguments())
        #expect(run.status == 0, "\(run.text)")
        #expect(run.text.contains("ledger recovered with damage"), "\(run.text)")
        #expect(run.text.contains("staging recovered with damage"), "\(run.text)")
        #expect(run.text.contains("1 row(s) were durable in staging but not yet in the ledger"), "\(run.text)")
        #expect(run.text.contains("complete: 20 rows verified (3 already done, 17 extracted, 0 failed)"), "\(run.text)")
        #expect(dir.names.filter { $0.contains(".torn-") }.count == 2, "\(dir.names)")
        let ledgerLines = readText(ledgerPath).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(ledgerLines.count == 21 && ledgerLines.last == "", "every ledger line complete")
        for line in ledgerLines.dropLast() { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil) }
        #expect(Set(try outputKeys()).count == 20)
    }

    @Test("A second run while one runs exits 4 naming the holder; SIGINT stops the first with 130; a rerun completes")
    func lockHeldAndInterrupt() async throws {
        try makeInputs(40)
        let slow = #"sleep 0.25; printf '{"ok":1}'"#
        let ledger = output.appendingToName(".done")
        try await offPool {
            let first = try start(runArguments(command: slow, jobs: 2))
            let deadline = Date().addingTimeInterval(30)
            while lines(ledger) < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }

            let second = try start(runArguments(command: slow, jobs: 2))
            #expect(second.wait() == 4, "\(second.text)")
            #expect(second.text.contains("held by pid \(first.process.processIdentifier) (durable-extract run)"), "\(second.text)")

            let status = try start(["status", "--output", output.string, "--inputs", inputs.string])
            #expect(status.wait() == 0)
            #expect(status.text.contains("running: pid \(first.process.processIdentifier)"), "\(status.text)")

            kill(first.process.processIdentifier, SIGINT)
            #expect(first.wait() == 130, "\(first.text)")
            #expect(first.text.contains("interrupted by SIGINT:"), "\(first.text)")
            #expect(first.text.contains("pending"), "\(first.text)")
            #expect(first.text.contains("rerun the same command to resume"), "\(first.text)")
        }
        let done = lines(ledger)
        #expect(done > 0 && done < 40)

        let rerun = try await extract(runArguments(command: slow, jobs: 8))
        #expect(rerun.status == 0, "\(rerun.text)")
        #expect(rerun.text.contains("complete: 40 rows verified (\(done) already done"), "\(rerun.text)")
    }

    @Test("A second SIGINT skips the grace: hung items are killed as a process group, and the run exits 130 at once")
    func secondInterruptKillsHungItems() async throws {
        try makeInputs(4)
        let marker = "31.\(Int.random(in: 100...999))"  // a sleep no other process runs
        let hung = "sh -c 'sleep \(marker)'; printf '{}'"  // a grandchild: only a group kill ends it
        let ledger = output.appendingToName(".done")
        let elapsed = try await offPool { () throws -> Double in
            let run = try start(runArguments(command: hung, jobs: 2, ["--grace", "60s"]))
            let deadline = Date().addingTimeInterval(30)
            while Self.processes(matching: "sleep \(marker)") < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            #expect(Self.processes(matching: "sleep \(marker)") == 2)
            let start = Date()
            kill(run.process.processIdentifier, SIGINT)
            Thread.sleep(forTimeInterval: 0.3)
            #expect(run.process.isRunning, "the first SIGINT waits for the items in flight (grace 60 s)")
            kill(run.process.processIdentifier, SIGINT)
            #expect(run.wait() == 130, "\(run.text)")
            #expect(run.text.contains("again: stopping now"), "\(run.text)")
            return Date().timeIntervalSince(start)
        }
        #expect(elapsed < 15, "the second SIGINT must not wait for the grace (took \(elapsed) s)")
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.processes(matching: "sleep \(marker)") == 0, "every item's process group was killed")
        #expect(lines(ledger) == 0, "nothing half-done is recorded as done")
    }

    static func processes(matching text: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { Int($0) != nil }.filter { pid in
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let command = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return command.hasPrefix("sleep ") && command.contains(text)
        }.count
    }

    @Test("Failing commands: recorded with exit status and stderr tail, retried next run; the budget stops a run")
    func failingCommands() async throws {
        try makeInputs(10)
        let flaky = #"case {} in *f0003*) echo "boom on $(basename {})" >&2; exit 7;; *) printf '{"ok":1}';; esac"#
        let first = try await extract(runArguments(command: flaky))
        #expect(first.status == 1, "\(first.text)")
        #expect(first.text.contains("finished with failures: 9 rows verified"), "\(first.text)")
        let errorsPath = output.appendingToName(".errors.jsonl")
        let failures = try Ledger<FailedAttempt>.recover(at: errorsPath).entries
        #expect(failures.count == 1)
        #expect(failures.first?.key == "f0003.txt")
        #expect(failures.first?.message.contains("exit status 7") == true)
        #expect(failures.first?.message.contains("boom on f0003.txt") == true)
        #expect(failures.first?.attempt == 1)
        #expect(!(try outputKeys()).contains("f0003.txt"))

        let second = try await extract(runArguments(command: flaky))
        #expect(second.status == 1)
        #expect(second.text.contains("(9 already done, 0 extracted, 1 failed)"), "\(second.text)")
        #expect(try Ledger<FailedAttempt>.recover(at: errorsPath).entries.last?.attempt == 2, "retried, attempt counted")

        let fixed = try await extract(runArguments(command: #"printf '{"ok":1}'"#))
        #expect(fixed.status == 0, "\(fixed.text)")
        #expect(Set(try outputKeys()).count == 10)

        // Everything fails: the budget of 2 stops the run after the third failure (one job at a time).
        let other = dir.file("other.jsonl")
        let budget = try await extract([
            "run", "--inputs", inputs.string, "--output", other.string, "--jobs", "1", "--max-failures", "2",
            "--command", "exit 3",
        ])
        #expect(budget.status == 1, "\(budget.text)")
        #expect(budget.text.contains("3 items failed, past the budget"), "\(budget.text)")
        #expect(try Ledger<FailedAttempt>.recover(at: other.appendingToName(".errors.jsonl")).entries.count == 3)
    }

    @Test("CSV output parses with Python's csv module; JSONL output parses with jq")
    func standardReaders() async throws {
        try makeInputs(5)
        let nested = #"printf '{"n":%s,"nested":{"a":[1,2]},"text":"x,y \\"q\\""}' "$(wc -l < {})""#
        let csv = dir.file("out.csv")
        let csvRun = try await extract([
            "run", "--inputs", inputs.string, "--output", csv.string, "--command", nested, "--json", "--quiet",
        ])
        #expect(csvRun.status == 0, "\(csvRun.text)")
        #expect(csvRun.text.contains(#""rows_verified":5"#) && csvRun.text.contains(#""schema":2"#), "\(csvRun.text)")
        let python = try ChildProcess(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", "-c", "import csv,json,sys; rows=list(csv.DictReader(open(sys.argv[1]))); print(json.dumps(rows))", csv.string])
        #expect(await python.wait() == 0, "\(python.text)")
        let rows = try JSONSerialization.jsonObject(with: Data(python.text.utf8)) as! [[String: String]]
        #expect(rows.count == 5)
        #expect(Set(rows.compactMap { $0["key"] }) == Set((0..<5).map { String(format: "f%04d.txt", $0) }))
        let first = rows.first { $0["key"] == "f0000.txt" }
        #expect(first?["n"] == "1")
        #expect(first?["nested"] == #"{"a":[1,2]}"#)
        #expect(first?["text"] == #"x,y "q""#)

        let jsonlRun = try await extract(runArguments(command: nested))
        #expect(jsonlRun.status == 0, "\(jsonlRun.text)")
        let jq = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["jq", "-r", ".key + \" \" + (.nested.a | tostring)", output.string])
        #expect(await jq.wait() == 0, "\(jq.text)")
        let parsed = Set(jq.text.split(separator: "\n").map(String.init))
        #expect(parsed == Set((0..<5).map { String(format: "f%04d.txt [1,2]", $0) }), "\(jq.text)")
    }
}
