import Foundation

/// Whether a process id names a live process on this host.
package enum ProcessLiveness {
    /// `kill(pid, 0)`: alive when it succeeds or is refused (`EPERM`: alive, another user's).
    package static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) == 0 { return true }
        return errno == EPERM
    }
}
