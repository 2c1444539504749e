import Foundation
import SystemPackage

/// Who holds a kernel lock: `flock` does not say, but Linux lists every lock in `/proc/locks`.
enum LockHolders {
    /// The pid holding a `flock` on the file at `path`, from `/proc/locks` (Linux); `nil` when unknown.
    ///
    /// - Parameter exclusiveOnly: only an exclusive (`WRITE`) lock counts, not a shared one.
    static func flockHolder(of path: FilePath, exclusiveOnly: Bool = false, fileSystem: any FileSystem) -> Int32? {
        #if os(Linux)
        guard let status = try? fileSystem.stat(path, followSymlinks: true),
            let table = fileSystem.text(of: "/proc/locks")
        else { return nil }
        let major = (status.device >> 8) & 0xfff | (status.device >> 32) & ~0xfff
        let minor = (status.device & 0xff) | ((status.device >> 12) & ~0xff)
        let wanted = String(format: "%02x:%02x:%llu", major, minor, status.inode)
        for line in table.split(separator: "\n") {
            // "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF" (a waiter's line has "->" after the number)
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", !exclusiveOnly || fields[3] == "WRITE" else { continue }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, let ino = UInt64(id[2]), ino == status.inode,
                String(format: "%02x:%02x:%llu", UInt64(id[0], radix: 16) ?? 0, UInt64(id[1], radix: 16) ?? 0, ino) == wanted,
                let pid = Int32(fields[4]), pid > 0  // 0: a holder in a pid namespace we cannot see
            else { continue }
            return pid
        }
        return nil
        #else
        return nil
        #endif
    }

    /// The command name the kernel keeps for `pid` (`/proc/<pid>/comm`, at most 15 bytes), or `nil`.
    static func processName(of pid: Int32, fileSystem: any FileSystem) -> String? {
        #if os(Linux)
        guard let name = fileSystem.text(of: FilePath("/proc/\(pid)/comm")) else { return nil }
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
        #else
        return nil
        #endif
    }
}
