// snippet.of Sources/DurableIO/DurableIO.docc/Locks.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum LocksArticleExample {
// snippet.show

func run(fencingToken: Int) async throws { /* pass the token to what you write */ }

func lockedJob() async throws {
    let lock = FileLock(at: "features.jsonl.lock", mode: .exclusive)

    if try lock.tryAcquire() {                        // one try (about 250 ms when held)
        print("token", lock.token!)
        try lock.release()
    } else if let owner = lock.currentHolder() {
        print("busy: pid \(owner.pid) (\(owner.command)) on \(owner.host) since \(owner.acquiredAt)")
    }

    // Wait up to 30 s with backoff (cancellable), run, release whatever happens.
    try await lock.withLock(timeout: .seconds(30)) {
        try await run(fencingToken: lock.token!)
    }

    // The same from a thread that may block.
    try lock.acquireBlocking(timeout: .seconds(5))
    try lock.release()

    // Or wait in async code and release yourself.
    try await lock.acquire(timeout: .seconds(5))
    try lock.release()

    // Another process asking who holds it: the kernel says whether it is held, the record says who.
    print(FileLock.holder(of: "features.jsonl.lock").map { "held by \($0)" } ?? "not held")

    // On NFS: an O_EXCL lock file. Never judged by age across hosts unless you opt in.
    let shared = LockFile(
        at: "/mnt/nfs/features.jsonl.lock",
        options: LockFile.Options(staleAge: .seconds(60), foreignHostStaleAge: nil, refreshInterval: .seconds(10)))
    try await shared.withLock(timeout: .seconds(30)) {
        try await run(fencingToken: shared.token!)
        if shared.isCompromised { print("the lock was taken from us: stop before committing") }
    }
}
// snippet.hide
}
