import Foundation
import SystemPackage

/// The one way a `LockFile` ever takes a lock file off its path — to reclaim a stale one, to release its own, or to
/// clean up a half-made one: under a **reclaim guard**.
///
/// 1. Create the guard `<lock>.reclaim-<key>-<k>` with `O_CREAT | O_EXCL` (k = 1 first) and write this process's
///    owner record into it. The key is the file's device and inode, which do not change over the file's life, so
///    everyone who means to remove *that* file competes for the same guard whatever state they saw it in (empty,
///    or with its record), and only one holds it. (A key that included the content split the empty file's guard
///    from its holder's: a reclaimer of the empty version and the holder's release ran at once.) A reused inode
///    shares the guard with a late remover of the previous file; the fresh inspection (step 2) tells them apart.
///    A guard whose holder is provably dead (judged like a lock file) is never removed or reused: the next
///    contender moves on to generation k + 1. A live holder's guard: a reclaim reports `.busy`; a release waits
///    for it (up to its patience), since that holder may be a late remover of a previous file at the same inode.
/// 2. Under the guard, inspect the lock path again and compare it with what is to be removed (device, inode,
///    content, and the modification time when reclaiming). Anything else there: leave it alone (`.changed`).
/// 3. Rename the lock path to a unique tombstone, compare the tombstone the same way, and unlink it. A file that is
///    not the one expected (possible only when someone paused past a stale age inside their own guarded section) is
///    never put back and never deleted: it stays under the tombstone, and its holder, whose path no longer names it,
///    finds out at its next heartbeat or release.
/// 4. Unlink the guard, then the dead generations below it.
///
/// Model-checked with SPIN (`Documentation/model/`, whose README says for which bounds the search is exhaustive): a
/// reclaim on proof of death never gives two live holders, whatever crashes happen at any step, and no age-based
/// reclaim goes unnoticed.
///
/// ```swift
/// let reclaim = LockFileReclaim(path: path, fileSystem: fileSystem, isStale: { snapshot in … })
/// switch try reclaim.remove(expected: judged, matchMtime: true) { case .removed: … case .changed, .busy: … }
/// ```
struct LockFileReclaim {
    let path: FilePath
    let fileSystem: any FileSystem
    /// Whether an existing guard's holder is gone (the rules of a stale lock file).
    let isStale: (Snapshot) -> Bool

    /// Guard generations tried before giving up ("busy").
    static let generations = 8

    enum Outcome: Equatable {
        /// The expected file was at the path and is gone now.
        case removed
        /// The path named something else (or nothing): nothing of anybody's was removed from it.
        case changed
        /// Another live process holds the guard for this file: it is removing it.
        case busy
    }

    /// The guard file of generation `k` for the file `expected` describes.
    func guardPath(for expected: Snapshot, generation k: Int) -> FilePath {
        path.appendingToName(".reclaim-\(Self.key(of: expected))-\(k)")
    }

    /// `<device>-<inode>`: the same for every process looking at the same file, at every moment of its life.
    static func key(of file: Snapshot) -> String { "\(file.identity.device)-\(file.identity.inode)" }

    /// Removes the file `expected` describes from the lock path, under its guard (the steps above).
    ///
    /// - Parameters:
    ///   - expected: the file to remove, as it was seen (or made).
    ///   - matchMtime: whether the modification time must match too (a reclaim; not a release, whose heartbeat moves it).
    ///   - patience: how long to wait while a live process holds the guard before reporting `.busy`; zero for a
    ///     reclaim (someone else is removing it), longer for a release (it may be a late remover of a previous
    ///     file at the same inode, about to find the path changed and let go).
    func remove(expected: Snapshot, matchMtime: Bool, patience: Duration = .zero) throws(DurableIOError) -> Outcome {
        guard let (guardFile, generation) = try takeGuard(for: expected, patience: patience) else { return .busy }
        defer { dropGuards(for: expected, through: generation, own: guardFile) }
        guard let now = snapshot(of: path), now.isSameFile(as: expected, matchMtime: matchMtime) else { return .changed }
        let tombstone = path.appendingToName(".stale-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: .min ... .max))")
        do { try fileSystem.rename(path, to: tombstone) } catch .noSuchFileOrDirectory {
            return .changed
        } catch {
            throw DurableIOError.syscall("rename lock file aside", path: path, error)
        }
        guard let moved = snapshot(of: tombstone), moved.isSameFile(as: expected, matchMtime: matchMtime) else {
            return .changed  // not the file expected: left under the tombstone for its holder to find out
        }
        try? fileSystem.unlink(tombstone)
        try? fileSystem.syncDirectory(path.parentDirectory)
        return .removed
    }

    /// Creates the first free guard generation whose predecessors are all held by dead processes; `nil` when a live
    /// process still holds one after `patience` (or every generation is taken).
    private func takeGuard(for expected: Snapshot, patience: Duration) throws(DurableIOError) -> (FilePath, Int)? {
        let deadline = ContinuousClock.now + patience
        var pause = Duration.milliseconds(1)
        var k = 1
        var vanished = 0
        while k <= Self.generations {
            let guardFile = guardPath(for: expected, generation: k)
            let fd: FileDescriptor
            do {
                fd = try fileSystem.open(guardFile, .readWrite, options: [.create, .exclusiveCreate, .noFollow], permissions: FilePermissions(rawValue: 0o644))
            } catch .fileExists {
                guard let holder = snapshot(of: guardFile) else {
                    vanished += 1  // its holder just finished: try this generation again, a few times
                    if vanished > 3 { return nil }
                    continue
                }
                if isStale(holder) {
                    k += 1  // its holder is dead: never remove or reuse its guard, take the next generation
                    continue
                }
                guard ContinuousClock.now < deadline else { return nil }
                Thread.sleep(forTimeInterval: pause.seconds)  // a live holder: wait for it to finish, then try again
                pause = min(pause * 2, .milliseconds(50))
                continue
            } catch {
                throw DurableIOError.syscall("create reclaim guard", path: guardFile, error)
            }
            defer { try? fileSystem.close(fd) }
            do { _ = try fileSystem.writeAll(fd, LockOwner.current(token: 0).encoded) } catch {
                try? fileSystem.unlink(guardFile)
                throw DurableIOError.syscall("write reclaim guard", path: guardFile, error)
            }
            return (guardFile, k)
        }
        return nil
    }

    /// Unlinks this process's guard and the dead generations below it (nobody else removes those).
    private func dropGuards(for expected: Snapshot, through generation: Int, own: FilePath) {
        try? fileSystem.unlink(own)
        for k in stride(from: generation - 1, through: 1, by: -1) { try? fileSystem.unlink(guardPath(for: expected, generation: k)) }
    }

    /// What `file` names now: its identity and first 4 KiB; `nil` when nothing is there.
    func snapshot(of file: FilePath) -> Snapshot? {
        guard let fd = try? fileSystem.open(file, .readOnly, options: [.noFollow], permissions: nil) else { return nil }
        defer { try? fileSystem.close(fd) }
        guard let status = try? fileSystem.fstat(fd) else { return nil }
        let content = (try? fileSystem.read(fd, upTo: 4096, at: 0)) ?? []
        return Snapshot(identity: FileIdentity(status), content: content)
    }
}

/// Which file, and when it was last modified.
struct FileIdentity: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
    var modifiedSeconds: Int64
    var modifiedNanoseconds: Int64

    init(_ status: FileStatus) {
        device = status.device
        inode = status.inode
        modifiedSeconds = Int64(status.modificationSeconds)
        modifiedNanoseconds = Int64(status.modificationNanoseconds)
    }

    /// Seconds since 1970, with nanoseconds.
    var modified: Double { Double(modifiedSeconds) + Double(modifiedNanoseconds) / 1e9 }
}

/// A lock file as seen at one moment.
struct Snapshot: Sendable {
    var identity: FileIdentity
    var content: [UInt8]

    /// Same device, inode and content, and (when `matchMtime`) the same modification time: the same file in the
    /// same state. The inode alone is not enough (a deleted inode's number is soon given to a new file), and an
    /// empty file has no content to tell it apart.
    func isSameFile(as other: Snapshot, matchMtime: Bool) -> Bool {
        identity.device == other.identity.device && identity.inode == other.identity.inode && content == other.content
            && (!matchMtime || (identity.modifiedSeconds == other.identity.modifiedSeconds && identity.modifiedNanoseconds == other.identity.modifiedNanoseconds))
    }
}
