import DurableRun
import Foundation
import SystemPackage
import Testing

/// A CLI that crashes on a terminal must not hold it: the Swift runtime's backtracer is interactive by default when
/// stdin and stdout are a terminal ("Press space to interact, D to debug, or any other key to quit (30s)"). Each
/// CLI runs in a pseudo-terminal (util-linux `script`), is sent SIGSEGV while it works, and must print its crash
/// report without that prompt; item commands start with `SWIFT_BACKTRACE=interactive=no`, and a user's own
/// `SWIFT_BACKTRACE` is left alone.
@Suite("A crash on a terminal does not wait for a key", .serialized, .inATestSlot)
struct CrashOnATerminalTests {
    let dir = TemporaryDirectory()
    var pidFile: String { dir.file("cli.pid").string }
    var environmentFile: String { dir.file("item.env").string }

    /// An item command that records the SWIFT_BACKTRACE it was given, then works for a long time.
    var slowCommand: String { "printf '%s' \"${SWIFT_BACKTRACE-unset}\" > '\(environmentFile)'; sleep 60" }

    static let script: String? = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            print("SKIPPED: the terminal tests need util-linux script (Debian package bsdutils)")
            return nil
        }
        return "/usr/bin/script"
    }()

    /// Runs `executable arguments…` on a pseudo-terminal; once `ready` holds, sends it SIGSEGV; returns what the
    /// terminal showed (`nil` when script is missing). `backtrace`: `nil` unsets SWIFT_BACKTRACE, a value sets it.
    func crashOnATerminal(_ executable: URL, _ arguments: [String], backtrace: String?, ready: @escaping @Sendable () -> Bool) async throws -> String? {
        guard let script = Self.script else { return nil }
        let line = "echo $$ > '\(pidFile)'; exec " + ([executable.path] + arguments).map(ItemCommand.shellQuoted).joined(separator: " ")
        let setting = backtrace.map { ["SWIFT_BACKTRACE=\($0)"] } ?? []
        let child = try ChildProcess(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", "exec /usr/bin/env -u SWIFT_BACKTRACE \(setting.map(ItemCommand.shellQuoted).joined(separator: " ")) \(script) -qec \(ItemCommand.shellQuoted(line)) /dev/null < /dev/null"])
        let pidFile = self.pidFile
        let sent = try await offPool { () -> Bool in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline && child.process.isRunning {
                if ready(), let pid = Int32(readText(FilePath(pidFile)).trimmingCharacters(in: .whitespacesAndNewlines)) {
                    kill(pid, SIGSEGV)
                    return true
                }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return false
        }
        #expect(sent, "the CLI never got going: \(child.text)")
        if !sent {  // never wait for a run that was not crashed: kill the CLI too, whose open pipe would hold the wait
            if let pid = Int32(readText(FilePath(pidFile)).trimmingCharacters(in: .whitespacesAndNewlines)) { kill(pid, SIGKILL) }
            kill(child.process.processIdentifier, SIGKILL)
        }
        await child.wait()
        return child.text
    }

    @Test("durable-extract: the crash report is printed without 'Press space'; its item commands get interactive=no")
    func extract() async throws {
        let inputs = dir.file("inputs")
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        writeRaw("x", to: inputs.appending("a.txt"))
        let environmentFile = self.environmentFile
        let shown = try await crashOnATerminal(
            ChildProcess.built("durable-extract"),
            ["run", "--inputs", inputs.string, "--output", dir.file("out.jsonl").string, "--command", slowCommand],
            backtrace: nil, ready: { FileManager.default.fileExists(atPath: environmentFile) })
        guard let shown else { return }
        #expect(shown.contains("Program crashed"), "the crash report is still printed: \(shown.suffix(2000))")
        #expect(!shown.contains("Press space to interact"), "\(shown.suffix(2000))")
        #expect(readText(FilePath(environmentFile)) == "interactive=no")
    }

    @Test("durable-resume: no 'Press space' after a crash on a terminal; a user's own SWIFT_BACKTRACE reaches the item commands")
    func resume() async throws {
        let f = ResumeFixture(count: 3)
        let environmentFile = self.environmentFile
        let arguments = ["start", "--db", f.db, "--source", f.csv, "--id", "id", "--command", slowCommand, "--quiet"]
        let shown = try await crashOnATerminal(
            ResumeCLI.executable, arguments, backtrace: nil, ready: { FileManager.default.fileExists(atPath: environmentFile) })
        guard let shown else { return }
        #expect(shown.contains("Program crashed"), "\(shown.suffix(2000))")
        #expect(!shown.contains("Press space to interact"), "\(shown.suffix(2000))")
        #expect(readText(FilePath(environmentFile)) == "interactive=no")

        try? FileManager.default.removeItem(atPath: environmentFile)
        let g = ResumeFixture(count: 3)
        let own = try await crashOnATerminal(
            ResumeCLI.executable, ["start", "--db", g.db, "--source", g.csv, "--id", "id", "--command", slowCommand, "--quiet"],
            backtrace: "enable=no", ready: { FileManager.default.fileExists(atPath: environmentFile) })
        guard let own else { return }
        #expect(readText(FilePath(environmentFile)) == "enable=no", "the user's setting is kept")
        #expect(!own.contains("Program crashed"), "enable=no was honoured: \(own.suffix(1000))")
    }

    @Test(
        "durable-backfill: no 'Press space' after a crash on a terminal",
        .disabled("passes (twice, 2026-12-02) but its crash report took 14 minutes to finish under load — the backtracer symbolicating the debug durable-backfill — too slow for CI; the same start-up code is tested through durable-extract and durable-resume"))
    func backfill() async throws {
        let db = dir.file("app.db")
        try Incident.make(db, transmissions: 200, withoutObservations: 10)
        let pidFile = self.pidFile
        // Ready once the CLI runs as the start-up code re-executed it (SWIFT_BACKTRACE in its environment) and has
        // had a moment to start its work: a probe of the database it is writing (the old one) could stay locked out.
        let shown = try await crashOnATerminal(
            ChildProcess.backfill,
            ["run", "--db", db.string, "--name", "slow", "--table", "transmissions", "--key", "id", "--set", Incident.set,
             "--where", Incident.predicate, "--batch-size", "1", "--yield", "5s"],
            backtrace: nil, ready: {
                guard let pid = Int32(readText(FilePath(pidFile)).trimmingCharacters(in: .whitespacesAndNewlines)),
                      readText(FilePath("/proc/\(pid)/environ")).contains("SWIFT_BACKTRACE=interactive=no")
                else { return false }
                Thread.sleep(forTimeInterval: 1)
                return true
            })
        guard let shown else { return }
        #expect(shown.contains("Program crashed"), "\(shown.suffix(2000))")
        #expect(!shown.contains("Press space to interact"), "\(shown.suffix(2000))")
    }
}
