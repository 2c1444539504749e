import ArgumentParser
import DurableIO
import Foundation
import SystemPackage

/// The README's first command: DurableIO's primitives on generated data, with a real `kill -9` and the
/// incident of a ledger that lists more rows than the output holds.
@main
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-demo",
        abstract: "Show DurableIO surviving a kill -9 and refusing to report a loss as success.",
        subcommands: [Tour.self, Work.self], defaultSubcommand: Tour.self)
}

/// The whole tour: generate, extract, kill, resume, finalize, damage, refuse, repair.
struct Tour: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tour", abstract: "Run the whole demonstration (the default).")

    @Option(help: "Working directory (default: a new temporary one, removed afterwards).")
    var dir: String?

    @Option(help: "How many input items to generate.")
    var items: Int = 3000

    func run() throws {
        let keep = dir != nil
        let root = FilePath(dir ?? FileManager.default.temporaryDirectory.path + "/durable-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: root.string, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: root.string) } }
        let job = DemoJob(root: root)

        step(1, "Generate \(items) small input files in \(root)")
        try job.generateInputs(count: items)

        step(2, "Start an extraction in a child process, and kill -9 it part-way")
        let killedAt = try job.runChildAndKill(afterKeys: items * 2 / 5)
        say("killed the child with SIGKILL after \(killedAt) keys were durable in \(job.ledger.lastComponent!)")

        step(3, "Resume: recover ledger and staging, check the accounting, finish, finalize")
        let first = try job.resume()
        say(first)

        step(4, "Damage the output the way the incident did (keep 40% of its rows, ledger intact)")
        let kept = try job.truncateOutput(keepingFraction: 0.4)
        say("the output now holds \(kept) rows; the ledger still lists \(items)")

        step(5, "Restart: there is nothing pending, but DurableIO checks before it says \"complete\"")
        do {
            let text = try job.resume()
            say("UNEXPECTED: \(text)")
            throw ExitCode.failure
        } catch let error as DurableIOError where error.code == .accountingMismatch {
            say("refused (fail closed): \(error.description)")
            say(error.hint ?? "")
        }

        step(6, "Repair: drop the keys whose rows are missing from the ledger (atomically), then run again")
        let dropped = try job.repair()
        say("dropped \(dropped) keys from the ledger")
        say(try job.resume())
        print("\nDone: every input is in the output exactly once, and every step above was verified.")
    }

    private func step(_ n: Int, _ text: String) { print("\n[\(n)] \(text)") }
    private func say(_ text: String) { print("    " + text.replacingOccurrences(of: "\n", with: "\n    ")) }
}

/// The child the tour kills: extracts until it is killed (or done).
struct Work: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "work", abstract: "Extract pending items (the child process the tour kills).", shouldDisplay: false)

    @Option(help: "Working directory.")
    var dir: String

    func run() throws {
        let job = DemoJob(root: FilePath(dir))
        _ = try job.extractPending(pacing: 0.0005)
    }
}
