// snippet.of Documentation/Recovery.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum RecoveryStatusExample {
// snippet.show

func status() throws {
    let (done, ledgerReport) = try KeyLedger.recover(at: "features.jsonl.done")
    let staged = try StagingFile.recover(at: "features.jsonl.rows.jsonl")
    let output = try KeyCensus.scan(rowsAt: "features.jsonl")
    print(ledgerReport)          // features.jsonl.done: 152,265 entries recovered; …
    print(staged.report)
    print(output.report)
    let present = output.keys.union(staged.keys)
    let result = RowAccounting.reconcile(
        ledger: done, present: present, duplicateCount: output.duplicateCount + staged.duplicateCount)
    print("missing: \(result.missingCount) \(result.sampleMissing)")
    print("rows not yet in the ledger: \(result.unexpectedCount)")
    // The job lock, if your program takes one. FileLock asks the kernel whether it is held (the record stays
    // after a release); for a LockFile, use LockFile(at: "features.jsonl.lock").currentHolder() instead.
    print(FileLock.holder(of: "features.jsonl.lock").map { "held by \($0)" } ?? "the lock is not held")
}
// snippet.hide
}
