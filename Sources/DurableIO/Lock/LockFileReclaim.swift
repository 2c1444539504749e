import Foundation
import SystemPackage

/// The one way a `LockFile` ever takes a lock file off its path — to reclaim a stale one, to release its own, or to
/// clean up a half-made one: under a **reclaim guard**.
///
/// 1. Create the guard `<lock>.reclaim-<key>-<k>` with `O_CREAT | O_EXCL` (k = 1 first) and write this process's
///    owner record into it. The key names the file to be removed — device, inode, a hash of its content, and for a
///    file without a record its modification time — so everyone who means to remove *that* file competes for the
///    same guard, and only one holds it. A guard whose holder is provably dead (judged like a lock file) is never
///    removed or reused: the next contender moves on to generation k + 1.
/// 2. Under the guard, inspect the lock path again and compare it with what is to be removed (device, inode,
///    content, and the modification time when reclaiming). Anything else there: leave it alone (`.changed`).
/// 3. Rename the lock path to a unique tombstone, compare the tombstone the same way, and unlink it. A file that is
///    not the one expected (possible only when someone paused past a stale age inside their own guarded section) is
///    never put back and never deleted: it stays under the tombstone, and its holder, whose path no longer names it,
///    finds out at its next heartbeat or release.
/// 4. Unlink the guard, then the dead generations below it.
///
/// Model-checked with SPIN (`Documentation/model/`): with any number of contenders and crashes at any step, a
/// reclaim on proof of death never gives two live holders, and no age-based reclaim goes unnoticed.
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

    /// `<device>-<inode>-<content hash>`, plus `-<mtime>` for a file without an owner record: the same for every
    /// process looking at the same file; a record's nonce makes it unique, and an empty file's mtime does.
    static func key(of file: Snapshot) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits
        for byte in file.content {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        var key = "\(file.identity.device)-\(file.identity.inode)-\(String(hash, radix: 16))"
        if LockOwner.decode(file.content) == nil {
            key += "-\(file.identity.modifiedSeconds).\(file.identity.modifiedNanoseconds)"
        }
        return key
    }

    /// Removes the file `expected` describes from the lock path, under its guard (the steps above).
    func remove(expected: Snapshot, matchMtime: Bool) throws(DurableIOError) -> Outcome {
        guard let (guardFile, generation) = try takeGuard(for: expected) else { return .busy }
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
    /// process holds one (or every generation is taken).
    private func takeGuard(for expected: Snapshot) throws(DurableIOError) -> (FilePath, Int)? {
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
                guard isStale(holder) else { return nil }
                k += 1  // its holder is dead: never remove or reuse its guard, take the next generation
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
