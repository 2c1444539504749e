import Foundation
import SystemPackage
import Testing

/// Every `--json` output of the three CLIs, validated against its JSON Schema in `Documentation/schemas/` by a real
/// validator (Python's `jsonschema`; the test is skipped, saying so, where it is not installed).
@Suite("JSON outputs match their schemas", .inATestSlot)
struct JSONSchemaTests {
    @Test("every --json output validates against its schema; every schema is used; stdout holds the JSON alone",
          .enabled(if: SchemaValidator.isAvailable, "needs python3 with jsonschema: pip install jsonschema"))
    func everyOutputValidates() async throws {
        let dir = TemporaryDirectory()
        var outputs: [(schema: String, line: String)] = []
        func record(_ schema: String, _ result: CLIRun) throws {
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: true)
            #expect(lines.count == 1, "\(schema): stdout is one JSON object alone: \(result.stdout)\n\(result.stderr)")
            outputs.append((schema, String(lines.first ?? "")))
        }

        // durable-extract: a complete run, one with a failure, one that fails before it starts; status, verify, repair.
        let inputs = dir.file("in")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for name in ["a.txt", "b.txt", "bad.txt"] { writeRaw("x", to: inputs.appending(name)) }
        let out = dir.file("out.jsonl").string
        let command = #"case {} in *bad*) exit 2;; esac; printf '{"n":1}'"#
        let extract = ChildProcess.built("durable-extract")
        let hooks = dir.file("hooks.jsonl").string
        let hook = "cat >> '\(hooks)'"
        try record("durable-extract-run", await CLIRun(extract, ["run", "--inputs", inputs.string, "--output", out, "--command", command, "--json", "--on-exit", hook]))
        try record("durable-extract-run", await CLIRun(extract, ["run", "--inputs", dir.file("none").string, "--output", dir.file("o2.jsonl").string, "--builtin", "file-stats", "--json"]))
        try record("durable-extract-status", await CLIRun(extract, ["status", "--output", out, "--json"]))
        try record("durable-extract-status", await CLIRun(extract, ["status", "--output", out, "--inputs", inputs.string, "--json"]))
        try record("durable-extract-verify", await CLIRun(extract, ["verify", "--output", out, "--json"]))
        try record("durable-extract-repair", await CLIRun(extract, ["repair", "--output", out, "--dry-run", "--json"]))
        writeRaw("", to: FilePath(out))  // the rows are lost: verify fails, repair drops their keys
        try record("durable-extract-verify", await CLIRun(extract, ["verify", "--output", out, "--json"]))
        try record("durable-extract-repair", await CLIRun(extract, ["repair", "--output", out, "--json"]))

        // durable-resume: ingest, start (its `run <ID>` goes to stderr), status, list, resume, export.
        let resume = ChildProcess.built("durable-resume")
        let db = dir.file("runs.db").string
        writeRaw("id,text\na,1\nb,2\nc,3\n", to: dir.file("src.csv"))
        try record("durable-resume-ingest", await CLIRun(resume, ["ingest", "--db", db, "--source", dir.file("src.csv").string, "--id", "id", "--json"]))
        let started = await CLIRun(resume, ["start", "--db", db, "--source", dir.file("src.csv").string, "--command", #"grep -q '"b"' && exit 3; cat"#, "--json"])
        try record("durable-resume-session", started)
        #expect(started.stderr.contains("run "), "`run <ID>` is on stderr under --json: \(started.stderr)")
        try record("durable-resume-status", await CLIRun(resume, ["status", "--db", db, "--json"]))
        try record("durable-resume-list", await CLIRun(resume, ["list", "--db", db, "--json"]))
        try record("durable-resume-session", await CLIRun(resume, ["resume", "--db", db, "--latest", "--retry-errors-only", "--json"]))
        try record("durable-resume-export", await CLIRun(resume, ["export", "--db", db, "--latest", "--output", dir.file("results.csv").string, "--json"]))

        // durable-backfill: status with and without --name, and list, over one completed backfill.
        let backfill = ChildProcess.built("durable-backfill")
        let app = dir.file("app.db")
        try Incident.make(app, transmissions: 200, withoutObservations: 20)
        let run = await CLIRun(backfill, ["run", "--db", app.string, "--name", "b1", "--table", "transmissions", "--key", "id", "--set", Incident.set, "--where", Incident.predicate, "--quiet", "--on-exit", hook])
        #expect(run.status == 0, "\(run.stderr)")
        _ = await CLIRun(resume, ["resume", "--db", dir.file("missing.db").string, "--latest", "--on-exit", hook])  // fails: an error, no summary
        try record("durable-backfill-status", await CLIRun(backfill, ["status", "--db", app.string, "--name", "b1", "--json"]))
        try record("durable-backfill-status", await CLIRun(backfill, ["status", "--db", app.string, "--json"]))
        try record("durable-backfill-status", await CLIRun(backfill, ["list", "--db", app.string, "--json"]))

        // What the --on-exit hooks read: a run's end with a summary, a backfill's, one with an error and no summary.
        let hookLines = readText(FilePath(hooks)).split(separator: "\n").map(String.init)
        #expect(hookLines.count == 3, "\(hookLines)")
        outputs += hookLines.map { ("on-exit", $0) }

        let problems = try SchemaValidator.validate(outputs, in: dir)
        #expect(problems.isEmpty, "\(problems)")
        let used = Set(outputs.map(\.schema))
        let files = try FileManager.default.contentsOfDirectory(atPath: SchemaValidator.folder.path)
            .filter { $0.hasSuffix(".schema.json") }.map { String($0.dropLast(".schema.json".count)) }
        // `durable-resume work` needs a PostgreSQL store: its schema is checked by the worker tests' output.
        #expect(Set(files).subtracting(used) == ["durable-resume-work"], "schemas no output was validated against")
    }

    @Test("a schema-2 output's keys are snake_case at every depth, with null for what is unknown")
    func snakeCaseEverywhere() async throws {
        let dir = TemporaryDirectory()
        let inputs = dir.file("in")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        writeRaw("x", to: inputs.appending("a.txt"))
        let out = dir.file("out.jsonl").string
        let extract = ChildProcess.built("durable-extract")
        _ = await CLIRun(extract, ["run", "--inputs", inputs.string, "--output", out, "--builtin", "file-stats", "--quiet"])
        let status = await CLIRun(extract, ["status", "--output", out, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect(object["schema"] as? Int == 2)
        #expect(object["pending"] is NSNull, "pending is null without --inputs")
        #expect(object["holder"] is NSNull)
        let beat = try #require(object["last_heartbeat"] as? [String: Any])
        #expect(beat["beat_at"] is String)
        #expect((beat["progress"] as? [String: Any])?["elapsed_seconds"] is Double)
        func keys(_ value: Any) -> [String] {
            if let object = value as? [String: Any] { return object.keys + object.values.flatMap(keys) }
            if let array = value as? [Any] { return array.flatMap(keys) }
            return []
        }
        #expect(keys(object).filter { $0.contains(where: \.isUppercase) }.isEmpty, "\(status.stdout)")
    }
}

/// One run of a built executable: stdout and stderr go to files (no pipe to drain), waited for off the pool.
struct CLIRun {
    var status: Int32
    var stdout: String
    var stderr: String

    init(_ executable: URL, _ arguments: [String]) async {
        let dir = TemporaryDirectory()
        let out = dir.file("stdout").string
        let err = dir.file("stderr").string
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        var environment = ProcessInfo.processInfo.environment
        for name in ["DURABLE_STORE", "RESUME", "EXPERIMENT_ID", "RETRY_ERRORS_ONLY", "COLUMNS"] { environment[name] = nil }
        process.environment = environment
        status = await withCheckedContinuation { continuation in
            Thread {
                do { try process.run() } catch { continuation.resume(returning: -1); return }
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }.start()
        }
        stdout = readText(FilePath(out))
        stderr = readText(FilePath(err))
    }
}

/// Validates JSON lines against the schemas in `Documentation/schemas/` with Python's `jsonschema` (Draft 2020-12).
enum SchemaValidator {
    /// `Documentation/schemas/` of this checkout.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Documentation/schemas")

    /// Whether `python3 -c 'import jsonschema'` succeeds.
    static let isAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import jsonschema"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        let available = process.terminationStatus == 0
        if !available { print("JSONSchemaTests skipped: python3 with the jsonschema package is not installed (pip install jsonschema)") }
        return available
    }()

    static let script = """
        import json, sys
        from jsonschema import Draft202012Validator
        folder, cases = sys.argv[1], json.load(open(sys.argv[2]))
        problems = []
        for name, line in cases:
            schema = json.load(open(f"{folder}/{name}.schema.json"))
            Draft202012Validator.check_schema(schema)
            try:
                instance = json.loads(line)
            except ValueError as e:
                problems.append(f"{name}: not JSON ({e}): {line[:200]}")
                continue
            for e in Draft202012Validator(schema).iter_errors(instance):
                problems.append(f"{name}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}")
        print("\\n".join(problems))
        """

    /// The problems found, one line each; empty when every output is valid.
    static func validate(_ outputs: [(schema: String, line: String)], in dir: TemporaryDirectory) throws -> [String] {
        let cases = dir.file("cases.json")
        try JSONSerialization.data(withJSONObject: outputs.map { [$0.schema, $0.line] }).write(to: URL(fileURLWithPath: cases.string))
        let scriptFile = dir.file("validate.py")
        writeRaw(script, to: scriptFile)
        let out = dir.file("problems.txt")
        _ = FileManager.default.createFile(atPath: out.string, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptFile.string, folder.path, cases.string]
        process.standardOutput = FileHandle(forWritingAtPath: out.string)
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the validator itself failed")
        return readText(out).split(separator: "\n").map(String.init)
    }
}
