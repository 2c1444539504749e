import Foundation
import SystemPackage

/// How much memory a job uses: resident **plus swap**, because a thrashing process can keep its resident set
/// flat while its swap grows (the 24-hour incident behind DurableIO).
///
/// Read from `/proc/self/status` (`VmRSS`, `VmSwap`, `VmHWM`) on Linux; optionally plus every process of a process
/// group (the item commands a runner starts). Elsewhere the figures are zero (untested platforms).
///
/// ```swift
/// let usage = MemoryUsage.current()
/// print(MemoryUsage.format(usage.total), "of which swap", MemoryUsage.format(usage.swap))
/// ```
public struct MemoryUsage: Sendable, Equatable, Codable {
    /// Resident bytes.
    public var resident: Int64
    /// Swapped-out bytes.
    public var swap: Int64
    /// Peak resident bytes of this process (`VmHWM`).
    public var peakResident: Int64
    /// Resident + swap of the other processes counted: this process's descendants (the item commands and what
    /// they start) and the members of a given process group, when asked for.
    public var children: Int64

    /// Resident + swap, children included.
    public var total: Int64 { resident + swap + children }

    /// The figures of this process, plus those of every other process in `processGroup` if given, plus those of
    /// every descendant of this process (children, grandchildren, …) if `includingDescendants`: an item command
    /// runs in a process group of its own, and its memory is the job's memory too.
    ///
    /// - Parameters:
    ///   - processGroup: also count every member of this process group; `nil` (the default) for none.
    ///   - includingDescendants: also count every descendant of this process (default `false`).
    ///   - fileSystem: the seam `/proc` is read through.
    public static func current(
        includingProcessGroup processGroup: Int32? = nil, includingDescendants: Bool = false,
        fileSystem: any FileSystem = RealFileSystem()
    ) -> MemoryUsage {
        let own = status(of: "self", fileSystem: fileSystem)
        var usage = MemoryUsage(
            resident: own["VmRSS"] ?? 0, swap: own["VmSwap"] ?? 0, peakResident: own["VmHWM"] ?? 0, children: 0)
        if processGroup != nil || includingDescendants {
            usage.children = othersUsage(group: processGroup, descendants: includingDescendants, fileSystem: fileSystem)
        }
        return usage
    }

    /// The cgroup v2 memory limit of this process (`memory.max`), when there is one.
    public static func cgroupLimit(fileSystem: any FileSystem = RealFileSystem()) -> Int64? {
        #if os(Linux)
        guard let cgroup = fileSystem.text(of: "/proc/self/cgroup"),
            let line = cgroup.split(separator: "\n").first(where: { $0.hasPrefix("0::") })
        else { return nil }
        let path = "/sys/fs/cgroup" + line.dropFirst(3) + "/memory.max"
        guard let text = fileSystem.text(of: FilePath(path)) else { return nil }
        return Int64(text.trimmingCharacters(in: .whitespacesAndNewlines))  // "max" → nil
        #else
        return nil
        #endif
    }

    /// `4.31 GB`, `812 MB`.
    public static func format(_ bytes: Int64) -> String {
        let gb = Double(bytes) / 1e9
        if gb >= 1 { return String(format: "%.2f GB", gb) }
        return String(format: "%.0f MB", Double(bytes) / 1e6)
    }

    /// The `kB` fields of `/proc/<pid>/status`, in bytes.
    static func status(of pid: String, fileSystem: any FileSystem) -> [String: Int64] {
        guard let bytes = try? fileSystem.contents(of: FilePath("/proc/\(pid)/status")) else { return [:] }
        return vmFields(ofStatus: bytes)
    }

    /// The `Vm…` fields of a `/proc/PID/status` text, in bytes: `VmRSS:\t  81234 kB` → `["VmRSS": 83183616]`.
    ///
    /// Scanned as bytes: the memory check reads its own status after every item, and splitting the text into
    /// `String`s cost about 60 µs of each item's CPU (a quarter of durable-extract's overhead over `xargs -P`).
    static func vmFields(ofStatus bytes: [UInt8]) -> [String: Int64] {
        var fields: [String: Int64] = [:]
        var lineStart = 0
        while lineStart < bytes.count {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            defer { lineStart = lineEnd + 1 }
            guard lineEnd - lineStart > 2, bytes[lineStart] == UInt8(ascii: "V"), bytes[lineStart + 1] == UInt8(ascii: "m"),
                let colon = bytes[lineStart..<lineEnd].firstIndex(of: UInt8(ascii: ":"))
            else { continue }
            var i = colon + 1
            while i < lineEnd, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
            var kb: Int64 = 0
            var digits = 0
            while i < lineEnd, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9"), digits < 15 {
                kb = kb * 10 + Int64(bytes[i] - UInt8(ascii: "0"))
                i += 1
                digits += 1
            }
            // A number ends at a blank or the line's end ("81234 kB"); anything else is not a size.
            guard digits > 0, i == lineEnd || bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") else { continue }
            fields[String(decoding: bytes[lineStart..<colon], as: UTF8.self)] = kb * 1024
        }
        return fields
    }

    /// Resident + swap of every process other than this one that is in `group`, or (if `descendants`) descends
    /// from this process; each counted once. One pass over `/proc`.
    static func othersUsage(group: Int32?, descendants: Bool, fileSystem: any FileSystem) -> Int64 {
        let own = ProcessInfo.processInfo.processIdentifier
        guard let entries = try? fileSystem.listDirectory("/proc") else { return 0 }
        var parent: [Int32: Int32] = [:]
        var counted = Set<Int32>()
        for entry in entries {
            guard let pid = Int32("\(entry)"), pid != own,
                let stat = fileSystem.text(of: FilePath("/proc/\(pid)/stat")),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command name: state, ppid, pgrp.
            guard fields.count > 2, let ppid = Int32(fields[1]) else { continue }
            parent[pid] = ppid
            if let group, Int32(fields[2]) == group { counted.insert(pid) }
        }
        if descendants {
            for pid in parent.keys {
                var ancestor = parent[pid]
                var hops = 0
                while let current = ancestor, current > 1, hops < 64 {
                    if current == own {
                        counted.insert(pid)
                        break
                    }
                    ancestor = parent[current]
                    hops += 1
                }
            }
        }
        var sum: Int64 = 0
        for pid in counted {
            let status = status(of: "\(pid)", fileSystem: fileSystem)
            sum += (status["VmRSS"] ?? 0) + (status["VmSwap"] ?? 0)
        }
        return sum
    }
}
