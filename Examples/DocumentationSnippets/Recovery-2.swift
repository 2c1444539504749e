// snippet.of Documentation/Recovery.md 2 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum RecoveryRepairExample {
// snippet.show

func repair() throws {
    // The job lock, if your jobs take one: no run or finalize can start while the repair works.
    try FileLock(at: "features.jsonl.lock").withLock {
        // Opening quarantines a torn tail and fails with ledgerLocked if a writer is running.
        let handle = try KeyLedger.open(at: "features.jsonl.done")
        let done = handle.keys
        try handle.close()   // replace takes the writer lock itself: our own open handle would block it
        let present = try KeyCensus.scan(rowsAt: "features.jsonl").keys
            .union(try StagingFile.recover(at: "features.jsonl.rows.jsonl").keys)
        let keep = done.intersection(present)
        print("dropping \(done.count - keep.count) keys whose rows are missing")
        try KeyLedger.replace(at: "features.jsonl.done", with: keep)   // atomic: old or new, never a mix
    }
}
// snippet.hide
}
