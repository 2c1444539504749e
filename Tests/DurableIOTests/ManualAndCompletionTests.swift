import Foundation
import Testing

/// Man pages and shell completions come from the CLIs' own swift-argument-parser definitions
/// (`Scripts/install-man-and-completions.sh`): each CLI prints a completion script for bash, zsh and fish that
/// knows its subcommands and flags, and the help dump the man page generator reads (issue 17).
@Suite("Man pages and completions are generated from the CLIs (the built binaries)", .inATestSlot)
struct ManualAndCompletionTests {
    static let tools: [(name: String, subcommands: [String], flag: String)] = [
        ("durable-extract", ["run", "status", "verify", "repair", "demo"], "--min-free-disk"),
        ("durable-resume", ["ingest", "start", "resume", "work", "status", "list", "export"], "--retries"),
        ("durable-backfill", ["run", "resume", "status", "list"], "--memory-limit"),
    ]

    func run(_ tool: String, _ arguments: [String]) async throws -> (status: Int32, text: String) {
        let child = try ChildProcess(ChildProcess.built(tool), arguments)
        let status = await child.wait()
        return (status, child.text)
    }

    @Test("a completion script for bash, zsh and fish names every subcommand", arguments: ["bash", "zsh", "fish"])
    func completions(shell: String) async throws {
        for tool in Self.tools {
            let script = try await run(tool.name, ["--generate-completion-script", shell])
            #expect(script.status == 0, "\(tool.name) \(shell): \(script.text.prefix(300))")
            for subcommand in tool.subcommands { #expect(script.text.contains(subcommand), "\(tool.name) \(shell): \(subcommand)") }
        }
    }

    @Test("the help dump the man page generator reads is JSON with every subcommand and the shared flags")
    func manualSource() async throws {
        for tool in Self.tools {
            let dump = try await run(tool.name, ["--experimental-dump-help"])
            #expect(dump.status == 0, "\(tool.name)")
            let object = try JSONSerialization.jsonObject(with: Data(dump.text.utf8)) as? [String: Any]
            let command = object?["command"] as? [String: Any]
            let names = (command?["subcommands"] as? [[String: Any]])?.compactMap { $0["commandName"] as? String } ?? []
            for subcommand in tool.subcommands { #expect(names.contains(subcommand), "\(tool.name): \(names)") }
            #expect(dump.text.contains(String(tool.flag.dropFirst(2))), "\(tool.name) documents \(tool.flag)")
        }
    }
}
