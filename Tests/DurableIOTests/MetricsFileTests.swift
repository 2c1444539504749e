import Foundation
import SystemPackage
import Testing

/// `--metrics-file`: the built CLIs write the Prometheus text format, read here by a real parser (Python's
/// prometheus_client; the tests are skipped, with the reason printed, where it cannot be imported), during a run
/// while items are still pending and once the run ended: the counters, the gauges, the timestamps an alert
/// compares with the clock, and the run's identity in labels.
@Suite("Metrics file", .serialized, .inATestSlot)
struct MetricsFileTests {
    let dir = TemporaryDirectory()

    /// Reads a metrics file with prometheus_client's text parser; prints `{"name{label=value,…}": value}`.
    static let parser = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = {}
        for family in text_string_to_metric_families(open(sys.argv[1]).read()):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k not in ("tool", "subcommand", "run_id", "output"))
                out[sample.name + "{" + labels + "}"] = sample.value
                out["identity"] = {k: sample.labels[k] for k in ("tool", "subcommand", "run_id", "output")}
                out["type:" + family.name] = family.type
        print(json.dumps(out))
        """

    static let available: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import prometheus_client.parser"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        if probe.terminationStatus != 0 {
            print("SKIPPED: the metrics file tests need Python's prometheus_client (python3 -m pip install prometheus_client)")
        }
        return probe.terminationStatus == 0
    }()

    struct Parsed {
        var values: [String: Double]
        var identity: [String: String]
        var types: [String: String]
        /// When the file was read: its timestamps are checked against this moment, not a later one.
        var readAt = Date()
        subscript(_ key: String) -> Double? { values[key] }
    }

    /// The file parsed, or `nil` while it does not exist yet or does not parse (a parse error fails the test).
    func parse(_ path: String) async throws -> Parsed? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let script = dir.file("parse.py").string
        if !FileManager.default.fileExists(atPath: script) { writeRaw(Self.parser, to: FilePath(script)) }
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script, path])
        let status = await child.wait()
        #expect(status == 0, "prometheus_client could not parse \(path): \(child.text)\n\(readText(FilePath(path)))")
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(child.text.utf8)) as? [String: Any] else { return nil }
        var parsed = Parsed(values: [:], identity: object["identity"] as? [String: String] ?? [:], types: [:])
        for (key, value) in object {
            if let number = value as? Double { parsed.values[key] = number }
            if key.hasPrefix("type:"), let type = value as? String { parsed.types[String(key.dropFirst(5))] = type }
        }
        return parsed
    }

    func checkTimestamps(_ m: Parsed, within seconds: Double = 30) {
        let now = m.readAt.timeIntervalSince1970  // the read, not now: a loaded machine may take long to finish the run
        let heartbeat = m["durable_heartbeat_timestamp_seconds{}"] ?? 0
        let progress = m["durable_last_progress_timestamp_seconds{}"] ?? 0
        let start = m["durable_start_timestamp_seconds{}"] ?? 0
        #expect(abs(now - heartbeat) < seconds, "the heartbeat is now: \(heartbeat) vs \(now)")
        #expect(start > 0 && start <= progress && progress <= heartbeat, "start \(start) ≤ last progress \(progress) ≤ heartbeat \(heartbeat)")
        #expect((m["durable_memory_bytes{}"] ?? 0) > 1_000_000, "resident + swap is measured")
        #expect(m["durable_memory_swap_bytes{}"] != nil)
    }

    @Test("durable-extract run: during the run (items pending) and after it, counters, gauges and timestamps parse and add up")
    func extract() async throws {
        guard Self.available else { return }
        let inputs = dir.file("inputs")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 1...30 { writeRaw("\(i)\n", to: inputs.appending(String(format: "a%02d.txt", i))) }
        let metrics = dir.file("durable.prom").string
        let marker = dir.file("retried-once").string
        let go = dir.file("go").string
        // Inputs run in key order. a01 asks for one retry (exit 75, EX_TEMPFAIL) the first time; a02 fails for good;
        // a03 and a04 succeed at once; every later one waits for the file `go`, which the test makes once it has
        // read the file with items pending (however loaded the machine).
        let command = """
            case {} in *\\/a01.txt) [ -f '\(marker)' ] || { touch '\(marker)'; exit 75; } ;; *\\/a02.txt) exit 3 ;; \
            *\\/a03.txt|*\\/a04.txt) ;; *) while [ ! -f '\(go)' ]; do sleep 0.05; done ;; esac; echo '{"n":1}'
            """
        let output = dir.file("out.jsonl").string
        let child = try ChildProcess(
            ChildProcess.built("durable-extract"),
            ["run", "--inputs", inputs.string, "--output", output, "--command", command, "--jobs", "2",
             "--retries", "2", "--retry-delay", "10ms", "--metrics-file", metrics, "--metrics-interval", "100ms", "--quiet"])

        var during: Parsed?
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, child.process.isRunning {
            if let m = try await parse(metrics), (m["durable_items_total{state=done}"] ?? 0) >= 3,
               (m["durable_items_total{state=failed}"] ?? 0) == 1, (m["durable_items_pending{}"] ?? 0) > 0 {
                during = m
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        writeRaw("", to: FilePath(go))
        let status = await child.wait()
        #expect(status == 1, "one item failed for good: \(child.text)")
        let m = try #require(during, "the file was never read with items pending: \(child.text)")
        #expect(m.types["durable_items"] == "counter", "\(m.types)")
        #expect(m.types["durable_heartbeat_timestamp_seconds"] == "gauge")
        let done = m["durable_items_total{state=done}"] ?? -1
        let failed = m["durable_items_total{state=failed}"] ?? -1
        let pending = m["durable_items_pending{}"] ?? -1
        let running = m["durable_items_running{}"] ?? -1
        #expect(m["durable_run_items{}"] == 30)
        #expect(done + failed + pending + running == 30, "done \(done) + failed \(failed) + pending \(pending) + running \(running)")
        #expect(running >= 0 && running <= 2)
        checkTimestamps(m)
        #expect(m.identity == ["tool": "durable-extract", "subcommand": "run", "run_id": "", "output": output], "\(m.identity)")

        let end = try #require(try await parse(metrics))
        #expect(end["durable_items_total{state=done}"] == 29)
        #expect(end["durable_items_total{state=failed}"] == 1)
        #expect(end["durable_items_total{state=retried}"] == 1, "f1.txt was retried once")
        #expect(end["durable_items_pending{}"] == 0 && end["durable_items_running{}"] == 0)
        checkTimestamps(end)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path.string).filter { $0.contains("durable-tmp") }
        #expect(leftovers.isEmpty, "the atomic replace leaves no temporary file: \(leftovers)")
    }

    @Test("durable-resume start and durable-backfill run: the file at the end carries the run's id and its counts")
    func resumeAndBackfill() async throws {
        guard Self.available else { return }
        let fixture = ResumeFixture(count: 12)
        let resumeMetrics = dir.file("resume.prom").string
        let resume = await CLIRun(
            ResumeCLI.executable,
            ["start", "--db", fixture.db, "--source", fixture.csv, "--id", "id", "--command", fixture.command(),
             "--metrics-file", resumeMetrics, "--json"])
        #expect(resume.status == 0, "\(resume.stderr)")
        let runID = try #require(resume.stderr.split(separator: "\n").first { $0.hasPrefix("run ") }?.dropFirst(4))
        let r = try #require(try await parse(resumeMetrics))
        #expect(r.identity == ["tool": "durable-resume", "subcommand": "start", "run_id": String(runID), "output": fixture.db], "\(r.identity)")
        #expect(r["durable_items_total{state=done}"] == 12 && r["durable_items_pending{}"] == 0)
        #expect(r["durable_run_items{}"] == 12)
        checkTimestamps(r)

        let db = dir.file("backfill.sqlite")
        try Incident.make(db, transmissions: 2_000)
        let backfillMetrics = dir.file("backfill.prom").string
        let backfill = await CLIRun(
            ChildProcess.built("durable-backfill"),
            ["run", "--db", db.string, "--name", "tx", "--table", "transmissions", "--key", "id", "--set", Incident.set,
             "--where", Incident.predicate, "--quiet", "--metrics-file", backfillMetrics])
        #expect(backfill.status == 0, "\(backfill.stderr)")
        let b = try #require(try await parse(backfillMetrics))
        #expect(b.identity == ["tool": "durable-backfill", "subcommand": "run", "run_id": "tx", "output": db.string], "\(b.identity)")
        #expect((b["durable_items_total{state=done}"] ?? 0) > 0 && b["durable_items_pending{}"] == 0, "\(b.values)")
        checkTimestamps(b, within: 60)
    }

    @Test("durable-resume start: before its first item finished, the file already names the run and its size")
    func resumeBeforeTheFirstItem() async throws {
        guard Self.available else { return }
        let fixture = ResumeFixture(count: 3)
        let metrics = dir.file("early.prom").string
        let go = dir.file("go").string
        // Each item waits for the file `go`, made once the test has read the file: no item has finished before.
        let command = "input=$(cat); while [ ! -f '\(go)' ]; do sleep 0.05; done; printf '%s' \"$input\""
        let child = try ChildProcess(
            ResumeCLI.executable,
            ["start", "--db", fixture.db, "--source", fixture.csv, "--id", "id", "--command", command,
             "--metrics-file", metrics, "--metrics-interval", "100ms", "--quiet"])
        var early: Parsed?
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, child.process.isRunning, early == nil {
            if let m = try await parse(metrics), m.identity["run_id"]?.isEmpty == false { early = m }
            try await Task.sleep(for: .milliseconds(50))
        }
        writeRaw("", to: FilePath(go))
        let status = await child.wait()
        #expect(status == 0, "\(child.text)")
        let m = try #require(early, "the file never named the run: \(child.text)")
        #expect(m["durable_run_items{}"] == 3, "\(m.values)")
        #expect(m["durable_items_total{state=done}"] == 0)
        #expect((m["durable_items_pending{}"] ?? 0) + (m["durable_items_running{}"] ?? 0) == 3, "\(m.values)")
    }

    @Test("A metrics file that cannot be written is refused before any work (exit 1, the path named)")
    func unwritablePath() async throws {
        let inputs = dir.file("inputs")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        writeRaw("x", to: inputs.appending("a.txt"))
        let path = dir.file("missing-directory/durable.prom").string
        let run = await CLIRun(
            ChildProcess.built("durable-extract"),
            ["run", "--inputs", inputs.string, "--output", dir.file("o.jsonl").string, "--builtin", "file-stats", "--metrics-file", path])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("missing-directory"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("o.jsonl").string), "no work was done")
    }
}
