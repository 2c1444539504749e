// snippet.of Sources/DurableIO/DurableIO.docc/DurableIO.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum OverviewExample {
// snippet.show

func run(clips: [String], extract: (String) throws -> [UInt8]) throws {
    let done = try KeyLedger.open(at: "features.jsonl.done")            // recovers, locks
    let staging = try StagingFile.open(at: "features.jsonl.rows.jsonl")
    for clip in clips where !done.contains(RecordKey(clip)) {
        try staging.append(KeyedRow(key: RecordKey(clip), json: extract(clip)))  // the row, durable
        try done.insert(RecordKey(clip))                                        // then its key, durable
    }
    try staging.close()
    try Finalizer(output: "features.jsonl", staging: "features.jsonl.rows.jsonl")
        .finalize(ledger: done.keys)    // atomic output, verified by reading back, then staging removed
    try done.close()
}
// snippet.hide
}
