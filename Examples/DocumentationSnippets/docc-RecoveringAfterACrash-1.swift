// snippet.of Sources/DurableIO/DurableIO.docc/RecoveringAfterACrash.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum RecoveringStatusExample {
// snippet.show

func status() throws {
    let (done, report) = try KeyLedger.recover(at: "features.jsonl.done")
    let staged = try StagingFile.recover(at: "features.jsonl.rows.jsonl")
    let output = try KeyCensus.scan(rowsAt: "features.jsonl")
    print(report, staged.report, output.report, separator: "\n")
    let result = RowAccounting.reconcile(ledger: done, present: output.keys.union(staged.keys))
    print("\(result.missingCount) missing (\(result.sampleMissing)), \(result.unexpectedCount) not in the ledger")
}
// snippet.hide
}
