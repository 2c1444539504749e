// snippet.of Documentation/Locks.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum LocksGuideExample {
// snippet.show

func extractJob() async throws {
    let lock = FileLock(at: "features.jsonl.lock")       // or LockFile(at:options:) on NFS

    // Try once, without waiting for the holder (a held FileLock answers after about 250 ms, see below).
    if try lock.tryAcquire() {
        print("token \(lock.token!)")                    // this acquisition's fencing token
        try lock.release()
    } else {
        print("busy: \(lock.describeHolder())")          // "pid 4242 (durable-extract run) on host-a since …"
    }

    // Wait up to 30 s (backoff 10 ms doubling to 250 ms, jittered; cancellable), run, always release.
    try await lock.withLock(timeout: .seconds(30)) {
        try await run(fencingToken: lock.token!)
    }

    // Who holds it, from another process (a `status` command). Asks the kernel, then reads the record.
    if let owner = FileLock.holder(of: "features.jsonl.lock") {
        print("held by pid \(owner.pid) (\(owner.command)) on \(owner.host) since \(owner.acquiredAt)")
    }
}

func run(fencingToken: Int) async throws { /* pass the token to what you write */ }
// snippet.hide
}
