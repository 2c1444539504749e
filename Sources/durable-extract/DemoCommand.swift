import ArgumentParser
import DurableCLI
import DurableIO
import DurableRun
import Foundation
import SystemPackage

/// `durable-extract demo`: the README's first command. Runs the real CLI as child processes on generated data:
/// an extraction killed with SIGKILL, the resume, the incident (a ledger that lists rows the output lost) refused,
/// the repair, and the run that completes it.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show, on generated data, a run surviving kill -9 and refusing to report a loss as success.")

    @Option(help: "Working directory (default: a new temporary one, removed afterwards).")
    var dir: String?

    @Option(help: "How many input files to generate (1 to 1000000).", transform: NumericArgument.count(in: 1...1_000_000))
    var items: Int = 3000

    func run() throws {
        let keep = dir != nil
        let root = dir ?? FileManager.default.temporaryDirectory.path + "/durable-extract-demo-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: root) } }
        let demo = DemoSession(root: root)

        demo.step(1, "Generate \(items.formatted) small input files in \(root)/inputs")
        try demo.generateInputs(count: items)

        let command = #"printf '{"bytes":%s,"lines":%s}' "$(wc -c < {})" "$(wc -l < {})""#
        let runArguments = ["run", "--inputs", demo.inputs, "--output", demo.output, "--jobs", "4", "--command", command]
        demo.step(2, "Extract with a per-item shell command, and kill -9 the run part-way")
        demo.say("$ durable-extract \(runArguments.dropLast().joined(separator: " ")) \(ItemCommand.shellQuoted(command))")
        let durable = try demo.runAndKill(runArguments, afterKeys: items * 2 / 5)
        demo.say("killed the run with SIGKILL; \(durable.formatted) keys were durable in stats.jsonl.done")

        demo.step(3, "Rerun the same command: it recovers ledger and staging, checks them, and resumes")
        try demo.expect(0, runArguments)

        demo.step(4, "Damage the output the way the incident did: keep 40% of its rows, leave the ledger intact")
        let kept = try demo.truncateOutput(keepingFraction: 0.4)
        demo.say("the output now holds \(kept.formatted) rows; the ledger still lists \(items.formatted)")

        demo.step(5, "Rerun: nothing is pending, but it checks before it says \"complete\" — and refuses (exit 3)")
        try demo.expect(3, runArguments)

        demo.step(6, "The operator repairs explicitly: drop the keys whose rows are missing (the dry run lists them)")
        try demo.expect(0, ["repair", "--output", demo.output, "--dry-run"], showLines: 3)
        try demo.expect(0, ["repair", "--output", demo.output], showLines: 0)  // the same keys; only the summary

        demo.step(7, "Rerun: the dropped keys are extracted again; then verify")
        try demo.expect(0, runArguments)
        try demo.expect(0, ["verify", "--output", demo.output])
        print("\nDone: every input is in the output exactly once, and every step above was checked, not assumed.")
    }
}
