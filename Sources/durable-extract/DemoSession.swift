import ArgumentParser
import DurableIO
import Foundation
import SystemPackage

/// The demo's working directory and the child processes it runs (this same executable).
struct DemoSession {
    let root: String
    var inputs: String { root + "/inputs" }
    var output: String { root + "/stats.jsonl" }

    func step(_ n: Int, _ text: String) { print("\n[\(n)] \(text)") }
    func say(_ text: String) { print("    " + text.replacingOccurrences(of: "\n", with: "\n    ")) }

    func generateInputs(count: Int) throws {
        try FileManager.default.createDirectory(atPath: inputs, withIntermediateDirectories: true)
        for i in 0..<count {
            let lines = (i * 7919) % 40 + 1
            let text = (0..<lines).map { "item \(i) line \($0)" }.joined(separator: "\n") + "\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: inputs + String(format: "/clip_%06d.txt", i)))
        }
    }

    /// Starts this executable with `arguments` and kills it with SIGKILL once `afterKeys` keys are in the ledger.
    func runAndKill(_ arguments: [String], afterKeys: Int) throws -> Int {
        let child = try start(arguments, output: FileHandle.nullDevice)  // its progress is not the point here
        while child.isRunning && lineCount(output + ".done") < afterKeys { Thread.sleep(forTimeInterval: 0.005) }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        return lineCount(output + ".done")
    }

    /// Runs this executable with `arguments`, shows its output (the first `showLines` lines of stdout, then all
    /// of stderr), and fails the demo unless it exits with `code`.
    func expect(_ code: Int32, _ arguments: [String], showLines: Int = 20) throws {
        if arguments.first != "run" { say("$ durable-extract \(arguments.joined(separator: " "))") }
        let errors = root + "/.demo-stderr"
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        let pipe = Pipe()
        let child = try start(arguments, output: pipe.fileHandleForWriting, errors: FileHandle(forWritingAtPath: errors))
        try pipe.fileHandleForWriting.close()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        var lines = text.split(separator: "\n").map(String.init)
        if showLines == 0 {
            lines = []
        } else if lines.count > showLines { lines = lines.prefix(showLines) + ["… (\(lines.count - showLines) more lines)"] }
        lines += (try String(contentsOfFile: errors, encoding: .utf8)).split(separator: "\n").map(String.init)
        if !lines.isEmpty { say(lines.joined(separator: "\n")) }
        say("(exit \(child.terminationStatus))")
        guard child.terminationStatus == code else {
            print("UNEXPECTED: expected exit \(code)")
            throw ExitCode.failure
        }
    }

    private func start(_ arguments: [String], output: FileHandle, errors: FileHandle? = nil) throws -> Process {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = arguments
        child.standardOutput = output
        child.standardError = errors ?? FileHandle.nullDevice
        try child.run()
        return child
    }

    func truncateOutput(keepingFraction fraction: Double) throws -> Int {
        let text = try String(contentsOfFile: output, encoding: .utf8)
        let rows = text.split(separator: "\n")
        let kept = rows.prefix(Int(Double(rows.count) * fraction))
        try AtomicFile.write(kept.joined(separator: "\n") + "\n", to: FilePath(output))
        return kept.count
    }

    private func lineCount(_ path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        return data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }
}
