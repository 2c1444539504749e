// snippet.of Sources/DurableIO/DurableIO.docc/RecoveringAfterACrash.md 2 (see README-1.swift for how snippets are checked).
import DurableIO

enum RecoveringRepairExample {
// snippet.show
func repair() throws {
    try FileLock(at: "features.jsonl.lock").withLock {       // the job lock, if your jobs take one
        let handle = try KeyLedger.open(at: "features.jsonl.done")   // ledgerLocked if a writer runs
        let done = handle.keys
        try handle.close()                                   // replace takes the writer lock itself
        let present = try KeyCensus.scan(rowsAt: "features.jsonl").keys
            .union(try StagingFile.recover(at: "features.jsonl.rows.jsonl").keys)
        try KeyLedger.replace(at: "features.jsonl.done", with: done.intersection(present))
    }
}
// snippet.hide
}
