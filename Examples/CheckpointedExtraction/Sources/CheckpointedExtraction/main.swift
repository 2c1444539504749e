// A checkpointed extraction with the library directly: kill it at any moment, run it again, and it resumes;
// it says "complete" only after the output is written, read back and accounted for.
import DurableIO
import DurableRun
import Foundation
import SystemPackage

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    print("usage: CheckpointedExtraction INPUT-DIR OUTPUT.jsonl")
    exit(64)
}
let inputs = try ExtractionInputs.directory(FilePath(arguments[1]), matching: "*.txt")
let stop = StopRequest()
signal(SIGINT, SIG_IGN)
let onInterrupt = DispatchSource.makeSignalSource(signal: SIGINT)
onInterrupt.setEventHandler { stop.request(.signal(SIGINT)) }  // finish the items in flight, start no more
onInterrupt.resume()

let run = CheckpointedRun(output: FilePath(arguments[2]), options: .init(jobs: 8, failureBudget: .fraction(0.01)))
do {
    let report = try await run.run(inputs: inputs.keys, stop: stop) { key in
        // Any work that makes one JSON object per input: here, the word count of a text file.
        let text = try String(contentsOfFile: inputs.path(for: key).string, encoding: .utf8)
        let words = text.split(whereSeparator: \.isWhitespace).count
        return Array(#"{"words":\#(words)}"#.utf8)
    }
    print(report)  // complete: 3,000 rows verified (1,200 already done, 1,800 extracted, 0 failed)
    exit(report.failed == 0 ? 0 : 1)
} catch let error as DurableIOError {
    print("error: \(error)\n\(error.hint ?? "")")  // e.g. the restart check: "… 1,800 missing (first: …)"
    exit(error.code == .accountingMismatch ? 3 : 1)
} catch {
    print("error: \(error)")  // interrupted: "41,200 done, 110,065 pending" — rerun to resume
    exit(1)
}
