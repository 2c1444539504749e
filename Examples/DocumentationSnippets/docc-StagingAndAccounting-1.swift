// snippet.of Sources/DurableIO/DurableIO.docc/StagingAndAccounting.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum StagingAndAccountingExample {
// snippet.show

func extractAll(clips: [String], extract: (String) throws -> [UInt8]) throws {
    let done = try KeyLedger.open(at: "features.jsonl.done")
    let staging = try StagingFile.open(at: "features.jsonl.rows.jsonl")
    let output = try KeyCensus.scan(rowsAt: "features.jsonl")

    // Rows that are durable but whose key never reached the ledger: record them first.
    let present = output.keys.union(staging.recovery.keys)
    try done.insert(contentsOf: present.subtracting(done.keys))
    // Fail closed before any "nothing to do".
    try RowAccounting.checkRestart(ledger: done.keys, output: output, staging: staging.recovery.census)

    var completed = 0
    for clip in clips where !done.contains(RecordKey(clip)) {
        let row = try KeyedRow(key: RecordKey(clip), json: extract(clip))
        try staging.append(row)          // 1. the row, durable
        try done.insert(row.key)         // 2. then its key, durable
        completed += 1
    }
    try staging.close()

    let report = try Finalizer(output: "features.jsonl", staging: "features.jsonl.rows.jsonl")
        .finalize(ledger: done.keys, recoveredRows: present.count, completedThisRun: completed)
    print("\(report.rowsWritten) rows verified, \(report.duplicatesDropped) duplicates dropped")
    try done.close()
}
// snippet.hide
}
