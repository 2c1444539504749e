import DurableRun
import Foundation
import SystemPackage
import Testing

/// The progress display of the built CLIs in a real pseudo-terminal (Tests/TerminalDriver/pty_run.py: openpty,
/// the window size set with TIOCSWINSZ, COLUMNS unset), at 40, 80 and 200 columns: the bytes it showed, read by a
/// small terminal model (carriage return, erase in line, newline, autowrap at the width), leave no wrapped
/// remnant of a redraw behind, and no line drawn in place is wider than the terminal. A SIGINT typed at the
/// terminal (Ctrl-C) gets its message on a line of its own; a rerun says how many items were already done.
@Suite("Progress on a terminal", .serialized, .inATestSlot)
struct ProgressOnATerminalTests {
    let dir = TemporaryDirectory()

    static let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("TerminalDriver/pty_run.py").path

    struct Shown: Decodable {
        var status: Int32
        var wraps: Int
        var leftBehind: Int
        var screen: [String]
        /// Every raw byte the terminal received.
        var bytes: String = ""

        enum CodingKeys: String, CodingKey { case status, wraps, leftBehind = "left_behind", screen }

        /// The texts drawn in place: what follows each `\r\u{1B}[2K` up to the next control character, unless a
        /// newline ends it there (the summary that replaces the progress line is printed once).
        var redraws: [String] {
            bytes.components(separatedBy: "\r\u{1B}[2K").dropFirst().compactMap { part in
                let scalars = part.unicodeScalars  // scalars: "\r\n" is one Character
                let text = scalars.prefix { !["\r", "\n", "\u{1B}", "^"].contains($0) }
                let rest = String(scalars.dropFirst(text.count))
                return text.isEmpty || rest.unicodeScalars.starts(with: "\r\n".unicodeScalars) ? nil : String(text)
            }
        }
    }

    /// Runs `executable arguments` on a pty `columns` wide; `sigintAfter`: types Ctrl-C once that text was shown.
    func onATerminal(columns: Int, sigintAfter: String? = nil, _ executable: URL, _ arguments: [String]) async throws -> Shown {
        let capture = dir.file("capture-\(columns)-\(UUID().uuidString).bin").string
        var driverArguments = [Self.driver, "\(columns)", capture]
        if let sigintAfter { driverArguments += ["--sigint-after", sigintAfter] }
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + driverArguments + ["--", executable.path] + arguments)
        let status = await child.wait()
        #expect(status == 0, "the driver failed: \(child.text)")
        var shown = try JSONDecoder().decode(Shown.self, from: Data(child.text.utf8))
        shown.bytes = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: capture))) ?? Data(), as: UTF8.self)
        return shown
    }

    func inputs(_ count: Int) throws -> FilePath {
        let inputs = dir.file("inputs")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 1...count { writeRaw("\(i)\n", to: inputs.appending("f\(i).txt")) }
        return inputs
    }

    static let slowItem = #"sleep 0.05; echo "{\"n\":1}""#

    @Test("durable-extract at 40, 80 and 200 columns: no redraw leaves a wrapped line behind; the bar grows with the width", arguments: [40, 80, 200])
    func extract(columns: Int) async throws {
        let inputs = try inputs(40)
        let output = dir.file("out-\(columns).jsonl").string
        let shown = try await onATerminal(
            columns: columns, ChildProcess.built("durable-extract"),
            ["run", "--inputs", inputs.string, "--output", output, "--command", Self.slowItem, "--jobs", "2"])
        #expect(shown.status == 0, "\(shown.screen)")
        #expect(shown.leftBehind == 0, "wrapped remnants at \(columns) columns: \(shown.screen)")
        let redraws = shown.redraws
        #expect(redraws.count >= 3, "\(shown.bytes.debugDescription)")
        for line in redraws { #expect(line.count <= columns - 1, "\(line.count) characters at \(columns) columns: \(line)") }
        #expect(shown.screen.filter { $0.contains(" / 40 (") }.isEmpty, "the last redraw was cleared: \(shown.screen)")
        #expect(shown.screen.last?.hasPrefix("complete: 40 rows verified") == true || shown.screen.joined().contains("complete: 40 rows verified"))
        #expect(redraws.first?.contains("–/s") == true, "no rate on the first line: \(redraws.first ?? "")")
        let bars = redraws.map { line -> Int in
            guard line.hasPrefix("["), let end = line.firstIndex(of: "]") else { return 0 }
            return line.distance(from: line.startIndex, to: end) - 1
        }
        switch columns {
        case 200:
            #expect(bars.allSatisfy { $0 > 20 }, "\(bars)")
            #expect(redraws.allSatisfy { $0.contains("elapsed ") && $0.contains("ETA ") })
        case 80: #expect(redraws.allSatisfy { $0.contains("elapsed ") && $0.contains("ETA ") }, "\(redraws)")
        default: #expect(redraws.allSatisfy { $0.contains(" / 40 (") && $0.contains("ETA ") }, "\(redraws)")
        }
    }

    @Test("durable-resume and durable-backfill at 40 columns: no wrapped remnants either")
    func resumeAndBackfill() async throws {
        let fixture = ResumeFixture(count: 30)
        let resume = try await onATerminal(
            columns: 40, ResumeCLI.executable,
            ["start", "--db", fixture.db, "--source", fixture.csv, "--id", "id", "--command", fixture.command(sleep: 0.05), "--jobs", "2"])
        #expect(resume.status == 0, "\(resume.screen)")
        #expect(resume.leftBehind == 0, "\(resume.screen)")
        for line in resume.redraws { #expect(line.count <= 39, "\(line)") }
        #expect(!resume.redraws.isEmpty, "\(resume.bytes.debugDescription)")

        let db = dir.file("backfill.sqlite")
        try Incident.make(db, transmissions: 3_000)
        let backfill = try await onATerminal(
            columns: 40, ChildProcess.built("durable-backfill"),
            ["run", "--db", db.string, "--name", "b", "--table", "transmissions", "--key", "id", "--set", Incident.set,
             "--where", Incident.predicate, "--batch-size", "50"])
        #expect(backfill.status == 0, "\(backfill.screen)")
        #expect(backfill.leftBehind == 0, "\(backfill.screen)")
        for line in backfill.redraws { #expect(line.count <= 39, "\(line)") }
    }

    @Test("Ctrl-C: the signal's message starts on a line of its own; the rerun says how many items were already done")
    func sigintOnItsOwnLine() async throws {
        let inputs = try inputs(40)
        let output = dir.file("out.jsonl").string
        let arguments = ["run", "--inputs", inputs.string, "--output", output, "--command", #"sleep 0.3; echo "{\"n\":1}""#, "--jobs", "2", "--grace", "5s"]
        let stopped = try await onATerminal(columns: 100, sigintAfter: " / 40 (", ChildProcess.built("durable-extract"), arguments)
        #expect(stopped.status == 130, "\(stopped.screen)")
        #expect(stopped.screen.contains { $0.hasPrefix("SIGINT: stopping") }, "the message on its own line: \(stopped.screen)")
        #expect(!stopped.screen.contains { $0.contains("ETA") && $0.contains("SIGINT") }, "\(stopped.screen)")
        #expect(stopped.screen.contains { $0.hasPrefix("error: interrupted by SIGINT") }, "\(stopped.screen)")
        #expect(stopped.leftBehind == 0)

        let rerun = try await onATerminal(columns: 100, ChildProcess.built("durable-extract"), arguments)
        #expect(rerun.status == 0, "\(rerun.screen)")
        let resumed = rerun.screen.first { $0.hasPrefix("resuming: ") } ?? ""
        #expect(resumed.hasSuffix("of 40 items already done; \(40 - (Int(resumed.split(separator: " ")[1]) ?? -1)) to process"), "\(rerun.screen)")
    }

    @Test("A warning the libraries log during a run (the heartbeat's, which cannot be recorded) starts on a line of its own, not glued to the bar")
    func loggedWarningOnItsOwnLine() async throws {
        let inputs = try inputs(20)
        let output = dir.file("out.jsonl").string
        // A directory where the heartbeat record goes: every beat logs a warning while the bar is drawn in place.
        try FileManager.default.createDirectory(atPath: output + ".heartbeat", withIntermediateDirectories: true)
        let arguments = ["run", "--inputs", inputs.string, "--output", output, "--command", #"sleep 0.2; echo "{\"n\":1}""#,
                         "--jobs", "2", "--heartbeat", "300ms", "--min-free-disk", "0"]
        let shown = try await onATerminal(columns: 160, ChildProcess.built("durable-extract"), arguments)
        #expect(shown.status == 0, "\(shown.screen)")
        let warnings = shown.screen.filter { $0.contains("could not record the heartbeat") }
        #expect(!warnings.isEmpty, "\(shown.screen)")
        #expect(warnings.allSatisfy { $0.hasPrefix("warning: could not record the heartbeat") }, "each on a line of its own: \(shown.screen)")
        #expect(!shown.screen.contains { $0.contains("ETA") && $0.contains("could not record") }, "\(shown.screen)")
    }

    @Test("Not a terminal: every progress line starts with an ISO 8601 UTC timestamp, and no control character is written")
    func plainLinesCarryTimestamps() async throws {
        let inputs = try inputs(20)
        let run = await CLIRun(
            ChildProcess.built("durable-extract"),
            ["run", "--inputs", inputs.string, "--output", dir.file("plain.jsonl").string, "--command", Self.slowItem, "--heartbeat", "200ms"])
        #expect(run.status == 0, "\(run.stderr)")
        let progress = run.stderr.split(separator: "\n").filter { $0.contains(" / 20 (") }
        #expect(progress.count >= 2, "\(run.stderr)")
        let stamp = try Regex(#"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z "#)
        for line in progress { #expect(line.prefixMatch(of: stamp) != nil, "\(line)") }
        #expect(!run.stderr.contains("\r") && !run.stderr.contains("\u{1B}"))
    }
}
