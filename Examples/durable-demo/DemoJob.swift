import DurableIO
import Foundation
import SystemPackage

/// A small checkpointed extraction built from DurableIO's primitives: for each input file, a row with its size
/// and line count goes to staging (durable), then its key to the ledger (durable); finalize composes the output.
struct DemoJob {
    let root: FilePath
    var inputs: FilePath { root.appending("inputs") }
    var output: FilePath { root.appending("stats.jsonl") }
    var ledger: FilePath { root.appending("stats.jsonl.done") }
    var staging: FilePath { root.appending("stats.jsonl.rows.jsonl") }

    func generateInputs(count: Int) throws {
        try FileManager.default.createDirectory(atPath: inputs.string, withIntermediateDirectories: true)
        for i in 0..<count {
            let lines = (i * 7919) % 40 + 1
            let text = (0..<lines).map { "item \(i) line \($0)" }.joined(separator: "\n") + "\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: inputs.appending(Self.name(i)).string))
        }
    }

    static func name(_ i: Int) -> String { String(format: "clip_%06d.txt", i) }

    var allKeys: [RecordKey] {
        ((try? FileManager.default.contentsOfDirectory(atPath: inputs.string)) ?? []).sorted().map { RecordKey($0) }
    }

    /// Extracts every pending key; returns how many were done in this call.
    func extractPending(pacing: Double = 0) throws -> Int {
        let done = try KeyLedger.open(at: ledger)
        let rows = try StagingFile.open(at: staging)
        var completed = 0
        var batch: [KeyedRow] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            try rows.append(contentsOf: batch)  // rows durable first …
            try done.insert(contentsOf: batch.map(\.key))  // … then their keys
            completed += batch.count
            batch.removeAll()
        }
        for key in allKeys where !done.contains(key) {
            batch.append(try row(for: key))
            if batch.count == 20 { try flush() }
            if pacing > 0 { Thread.sleep(forTimeInterval: pacing) }
        }
        try flush()
        try rows.close()
        try done.close()
        return completed
    }

    func row(for key: RecordKey) throws -> KeyedRow {
        let data = try Data(contentsOf: URL(fileURLWithPath: inputs.appending(key.string!).string))
        let lines = data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        return try KeyedRow(key: key, json: Array(#"{"bytes":\#(data.count),"lines":\#(lines)}"#.utf8))
    }

    /// Runs `durable-demo work` as a child and kills it with SIGKILL once `afterKeys` keys are in the ledger.
    func runChildAndKill(afterKeys: Int) throws -> Int {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        if !FileManager.default.isExecutableFile(atPath: child.executableURL!.path) {
            child.executableURL = Bundle.main.executableURL
        }
        child.arguments = ["work", "--dir", root.string]
        try child.run()
        var keys = 0
        while child.isRunning {
            keys = lineCount(ledger)
            if keys >= afterKeys { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        return lineCount(ledger)
    }

    private func lineCount(_ path: FilePath) -> Int {
        guard let data = FileManager.default.contents(atPath: path.string) else { return 0 }
        return data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// Recovers, checks, extracts what is pending, finalizes; returns the summary.
    func resume() throws -> String {
        var lines: [String] = []
        let before = try KeyLedger.recover(at: ledger)
        let stagedBefore = try StagingFile.recover(at: staging)
        let outputBefore = try KeyCensus.scan(rowsAt: output)
        lines.append("ledger: \(before.report)")
        lines.append("staging: \(stagedBefore.report)")
        // Durable rows whose key did not reach the ledger are work done: record their keys.
        let unrecorded = stagedBefore.keys.subtracting(before.keys)
        if !unrecorded.isEmpty {
            let done = try KeyLedger.open(at: ledger)
            try done.insert(contentsOf: unrecorded)
            try done.close()
            lines.append("\(unrecorded.count) staged rows had no ledger entry yet: recorded")
        }
        let done = try KeyLedger.recover(at: ledger).keys
        // Fail closed before doing anything: every key the ledger lists must have its row.
        try RowAccounting.checkRestart(
            ledger: done, output: outputBefore, staging: stagedBefore.census,
            hint: "To re-extract them, drop the missing keys from the ledger (KeyLedger.replace), as step 6 does.")
        let recovered = outputBefore.keys.union(stagedBefore.keys).count
        let completed = try extractPending()
        let report = try Finalizer(output: output, staging: staging)
            .finalize(ledger: try KeyLedger.recover(at: ledger).keys, recoveredRows: recovered, completedThisRun: completed)
        lines.append(
            "complete: \(report.rowsWritten) rows verified (\(recovered) recovered + \(completed) extracted now; \(report.duplicatesDropped) duplicates dropped)"
        )
        return lines.joined(separator: "\n")
    }

    func truncateOutput(keepingFraction fraction: Double) throws -> Int {
        let text = try String(contentsOfFile: output.string, encoding: .utf8)
        let rows = text.split(separator: "\n")
        let kept = rows.prefix(Int(Double(rows.count) * fraction))
        try AtomicFile.write(kept.joined(separator: "\n") + "\n", to: output)
        return kept.count
    }

    /// Rewrites the ledger without the keys whose rows are missing; returns how many were dropped.
    func repair() throws -> Int {
        let done = try KeyLedger.recover(at: ledger).keys
        let present = try KeyCensus.scan(rowsAt: output).keys.union(try StagingFile.recover(at: staging).keys)
        let keep = done.intersection(present)
        try KeyLedger.replace(at: ledger, with: keep)
        return done.count - keep.count
    }
}
