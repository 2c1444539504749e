// snippet.of README.md 2 — the Quick start's lock (see README-1.swift for how snippets are checked).
import DurableIO

enum QuickStartLock {
    static func run(fencingToken: Int) async throws {}

    static func body() async throws {
// snippet.show
let lock = FileLock(at: "features.jsonl.lock")      // flock: released by the kernel if the holder dies
try await lock.withLock(timeout: .seconds(30)) {     // else: "features.jsonl.lock is held by pid 4242 (…) on host-a since …"
    try await run(fencingToken: lock.token!)
}
// snippet.hide
    }
}
