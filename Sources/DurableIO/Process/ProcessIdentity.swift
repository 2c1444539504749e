import Foundation
import SystemPackage

/// Who a process is, in a way that survives pid reuse: pid, host, and its start time since boot together with
/// the boot id (`/proc/<pid>/stat` field 22 and `/proc/sys/kernel/random/boot_id` on Linux).
///
/// The kernel's own files, read through the real file system: this is what ``RealFileSystem`` answers
/// ``FileSystem/processStartTime(_:)`` with.
enum ProcessIdentity {
    private static let kernel = RealFileSystem()

    /// This host's name (``FileSystem/hostName()``).
    static let host: String = kernel.hostName()

    /// This boot's id, or an empty string where the system has none.
    static let bootID: String = {
        kernel.text(of: "/proc/sys/kernel/random/boot_id")?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }()

    /// `"<boot id>:<start time in clock ticks since boot>"` for `pid`, or `nil` when it is not running (or the
    /// system does not say).
    static func startTime(of pid: Int32) -> String? {
        #if os(Linux)
        guard let stat = kernel.text(of: FilePath("/proc/\(pid)/stat")),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may hold spaces and parentheses): state is field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return "\(bootID):\(fields[19])"
        #else
        return nil
        #endif
    }

    /// When `pid` started, in seconds since 1970: the boot time (`btime` in `/proc/stat`) plus its start time in
    /// clock ticks since boot. Accurate to about a second; `nil` when it is not running or the system does not say.
    static func startSeconds(of pid: Int32) -> Double? {
        #if os(Linux)
        guard let ticks = startTime(of: pid)?.split(separator: ":").last.flatMap({ Double($0) }), let boot = bootSeconds
        else { return nil }
        return boot + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
        #else
        return nil
        #endif
    }

    /// The boot time, seconds since 1970 (`btime` in `/proc/stat`).
    static let bootSeconds: Double? = {
        guard let stat = kernel.text(of: "/proc/stat") else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }()

    /// This process's executable name and subcommand, e.g. `durable-extract run` — never the full command line,
    /// which may carry a password.
    static let command: String = {
        let arguments = CommandLine.arguments
        let executable = arguments.first.map { ($0 as NSString).lastPathComponent } ?? "?"
        if arguments.count > 1, let sub = arguments.dropFirst().first, !sub.hasPrefix("-"), !sub.contains("/"),
            sub.count <= 32, sub.allSatisfy({ $0.isLetter || $0 == "-" })
        {
            return "\(executable) \(sub)"
        }
        return executable
    }()
}
