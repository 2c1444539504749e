// snippet.of README.md 1 — the Quick start's first block: the lines between `// snippet.show` and
// `// snippet.hide` are the README's text exactly (DocumentationSnippetTests); the rest makes them compile.
// snippet.show
// Package.swift: .package(url: "https://github.com/<you>/DurableIO", branch: "main"), product "DurableIO"
import DurableIO
// snippet.hide

enum QuickStartAtomicAndLedger {
    static func body(clips: [String], extract: (String) throws -> [UInt8]) throws {
// snippet.show

// Replace a file so a crash leaves the old content or the new, never a mix; durable on return.
try AtomicFile.write("threshold = 0.8\n", to: "settings.toml")

// A checkpointed loop: the row is durable in staging before its key is durable in the ledger.
let done = try KeyLedger.open(at: "features.jsonl.done")        // recovers, reports damage, takes the writer lock
let staging = try StagingFile.open(at: "features.jsonl.rows.jsonl")
for clip in clips where !done.contains(RecordKey(clip)) {
    try staging.append(KeyedRow(key: RecordKey(clip), json: extract(clip)))
    try done.insert(RecordKey(clip))
}
try staging.close()

// Before saying "complete": every key the ledger lists must have its row, else fail closed.
try Finalizer(output: "features.jsonl", staging: "features.jsonl.rows.jsonl")
    .finalize(ledger: done.keys)   // atomic output, verified by reading it back, then staging removed
// snippet.hide
        // A path held as a String converts with FilePath, which `import DurableIO` brings (README, Quick start).
        let fromString = FilePath(CommandLine.arguments[0])
        _ = fromString
    }
}
