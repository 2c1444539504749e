// snippet.of Sources/DurableIO/DurableIO.docc/Ledgers.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum LedgersExample {
// snippet.show

struct Done: Codable, Sendable { var clip: String; var frames: Int }

func ledgers() async throws {
    let done = try KeyLedger.open(at: "features.jsonl.done")
    print(done.recovery)                           // features.jsonl.done: 3 entries recovered; …
    if !done.contains("clip_000017") {
        try await done.insert("clip_000017")       // durable when it resumes
    }
    try await withThrowingTaskGroup(of: Void.self) { group in   // eight writers share syncs
        for worker in 0..<8 {
            group.addTask {
                for i in 0..<50 { try await done.insert(RecordKey("w\(worker)-\(i)")) }
            }
        }
        try await group.waitForAll()
    }
    try done.close()

    let clips = try Ledger<Done>.open(at: "clips.done")
    print(clips.recovered.count)
    try await clips.append(Done(clip: "clip_000018.mp4", frames: 880))
    try clips.close()
}
// snippet.hide
}
