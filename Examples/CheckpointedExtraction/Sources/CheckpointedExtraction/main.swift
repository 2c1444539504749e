// A checkpointed extraction with the library directly: kill it at any moment, run it again, and it resumes;
// it says "complete" only after the output is written, read back and accounted for. Signals and exit codes are
// DurableCLI's, the same as every DurableIO command's.
import DurableCLI
import DurableIO
import DurableRun
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    print("usage: CheckpointedExtraction INPUT-DIR OUTPUT.jsonl")
    exit(DurableExitCode.usage.rawValue)
}
let stop = StopRequest()
// Ctrl-C, SIGTERM, SIGHUP: start no more items, let those in flight finish (a second Ctrl-C stops at once).
let signals = SignalHandler.install(stop: stop, grace: .seconds(30))

let code: DurableExitCode
do {
    let inputs = try ExtractionInputs.directory(FilePath(arguments[1]), matching: "*.txt")
    let run = CheckpointedRun(output: FilePath(arguments[2]), options: .init(jobs: 8, failureBudget: .fraction(0.01)))
    let report = try await run.run(inputs: inputs.keys, stop: stop) { key in
        // Any work that makes one JSON object per input: here, the word count of a text file.
        let text = try String(contentsOfFile: inputs.path(for: key).string, encoding: .utf8)
        let words = text.split(whereSeparator: \.isWhitespace).count
        return Array(#"{"words":\#(words)}"#.utf8)
    }
    print(report)  // complete: 3,000 rows verified (1,200 already done, 1,800 extracted, 0 failed)
    code = report.failed == 0 ? .success : .failure
} catch let error as RunError where error.code == .interrupted {
    // "41,200 done, 110,065 pending": rerun to resume; exits 130, 143 or 129.
    code = ErrorReport.print(error, code: DurableExitCode(stoppedBy: error.stopReason ?? .requested("stop")))
} catch {
    code = ErrorReport.print(error)  // e.g. the restart check: "… 1,800 missing (first: …)", exit 3
}
signals.uninstall()
exit(code.rawValue)
