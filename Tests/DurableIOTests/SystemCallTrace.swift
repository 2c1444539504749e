import Foundation
import Testing

/// The system calls a built executable made, in order, as `strace -f -y` saw them: the durability checks below the
/// seam (SQLite, PostgreSQL and child processes never go through it).
///
/// ```swift
/// guard let trace = try await SystemCallTrace.run(ChildProcess.built("durable-extract"), arguments) else { return }
/// let complete = try #require(trace.output(containing: "complete:"))
/// trace.expectEveryWrite(toPathEndingIn: ".done", syncedBefore: complete)
/// ```
struct SystemCallTrace: Sendable {
    /// One completed call.
    struct Call: Sendable, CustomStringConvertible {
        var pid: Int32
        var name: String
        /// The first argument when it is a descriptor.
        var descriptor: Int32?
        /// What the descriptor referred to, as `-y` printed it (`/tmp/x/runs.sqlite-wal`, `pipe:[123]`).
        var path: String?
        /// The first string argument, unescaped (the bytes of a `write`), as UTF-8 text.
        var text: String?
        /// The return value; -1 on failure.
        var result: Int
        /// `EIO` when the call failed.
        var error: String?
        /// Line of the trace where the call started and where it returned: `a.returned < b.started` means `a`
        /// returned before `b` was made (strace prints a call that another thread interrupts in two parts).
        var started: Int
        var returned: Int

        var succeeded: Bool { error == nil && result >= 0 }
        var isSync: Bool { name == "fsync" || name == "fdatasync" }
        var isWrite: Bool { ["write", "pwrite64", "writev", "pwritev", "pwritev2"].contains(name) }
        var description: String { "\(pid) \(name)(\(descriptor.map(String.init) ?? "")<\(path ?? "")>) = \(result)\(error.map { " \($0)" } ?? "") [\(started)…\(returned)]" }
    }

    /// The calls traced.
    var calls: [Call]
    /// The traced process's exit status.
    var status: Int32
    /// Everything it printed (stdout and stderr together).
    var output: String
    /// The pid of the traced process itself (the first in the trace): its fds 1 and 2 are the CLI's output.
    var mainPID: Int32

    /// What a PostgreSQL client says and hears, beside the CLI's output: socket reads and writes.
    static let networkCalls = "execve,write,writev,sendto,sendmsg,read,readv,recvfrom,recvmsg"

    /// The calls `-e trace=` asks for: syncs, writes, renames, and `execve` to tell item commands from the CLI.
    static let tracedCalls = "execve,fsync,fdatasync,sync_file_range,write,pwrite64,writev,pwritev,pwritev2,rename,renameat,renameat2"

    /// strace, or `nil` (with the reason printed) when it is missing or cannot trace here.
    static let strace: String? = {
        guard let path = ["/usr/bin/strace", "/bin/strace"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("SKIPPED: the system-call trace tests need strace (Debian package strace; .ci/run installs it)")
            return nil
        }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: path)
        probe.arguments = ["-qq", "-o", "/dev/null", "-e", "trace=none", "/bin/true"]
        probe.standardError = FileHandle.nullDevice
        do {
            try probe.run()
            probe.waitUntilExit()
        } catch {}
        guard probe.terminationStatus == 0 else {
            print("SKIPPED: strace cannot trace in this environment (ptrace refused?)")
            return nil
        }
        return path
    }()

    /// Runs `executable arguments…` under strace to its end, with `environment` added; `nil` when strace is missing.
    static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], tracing calls: String = tracedCalls
    ) async throws -> SystemCallTrace? {
        guard let strace else { return nil }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("durableio-strace-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let child = try ChildProcess(
            URL(fileURLWithPath: "/usr/bin/env"),
            assignments + [strace, "-f", "-y", "-qq", "-s", "8192", "-e", "signal=none", "-e", "trace=\(calls)",
                           "-o", file.path, "--", executable.path] + arguments)
        let status = await child.wait()
        let text = String(decoding: (try? Data(contentsOf: file)) ?? Data(), as: UTF8.self)
        let calls = Self.parse(text)
        return SystemCallTrace(calls: calls, status: status, output: child.text, mainPID: Self.firstPID(text) ?? -1)
    }

    /// The CLI's write of `needle` to stdout or stderr, the point every sync must precede; a failure (with what
    /// was printed and traced) when there is none. (A write that another thread interrupted used to be dropped by
    /// the parser — strace pads the resumed half's result — and showed up here as an intermittent miss.)
    func expectedOutput(containing needle: String, sourceLocation: SourceLocation = #_sourceLocation) -> Call? {
        if let call = output(containing: needle) { return call }
        let printed = output.contains(needle) ? "printed, but no write of it among \(outputWrites.count) traced output writes" : "never printed"
        Issue.record("'\(needle)' \(printed): \(summary)", sourceLocation: sourceLocation)
        return nil
    }

    /// The first write by the CLI (not by an item command) to its stdout or stderr whose text contains `needle`.
    func output(containing needle: String) -> Call? {
        outputWrites.first { $0.text?.contains(needle) ?? false }
    }

    /// Every write to stdout or stderr by the CLI's own threads, in order.
    var outputWrites: [Call] {
        calls.filter { $0.isWrite && ($0.descriptor == 1 || $0.descriptor == 2) && !childPIDs.contains($0.pid) }
    }

    /// Pids of item commands and their children: the processes that ran `execve` (a thread never does), except the
    /// traced CLI itself.
    var childPIDs: Set<Int32> { Set(calls.filter { $0.name == "execve" && $0.pid != mainPID }.map(\.pid)) }

    /// Successful calls named `name`s by the CLI's own threads (not its item commands) whose data holds `needle`.
    func calls(named names: Set<String>, containing needle: String) -> [Call] {
        calls.filter { names.contains($0.name) && $0.succeeded && !childPIDs.contains($0.pid) && ($0.text?.contains(needle) ?? false) }
    }

    /// Calls on a file whose path ends with `suffix`.
    func calls(onPathEndingIn suffix: String) -> [Call] { calls.filter { $0.path?.hasSuffix(suffix) ?? false } }

    /// Successful syncs of the file whose path ends with `suffix`.
    func syncs(ofPathEndingIn suffix: String) -> [Call] { calls(onPathEndingIn: suffix).filter { $0.isSync && $0.succeeded } }

    /// Writes to the file whose path ends with `suffix`.
    func writes(toPathEndingIn suffix: String) -> [Call] { calls(onPathEndingIn: suffix).filter(\.isWrite) }

    /// The last successful sync of the file whose path ends with `suffix` returned before `event` was made.
    func expectLastSync(ofPathEndingIn suffix: String, before event: Call, sourceLocation: SourceLocation = #_sourceLocation) {
        let syncs = syncs(ofPathEndingIn: suffix)
        guard let last = syncs.last else {
            Issue.record("no sync of *\(suffix) at all\n\(summary)", sourceLocation: sourceLocation)
            return
        }
        #expect(last.returned < event.started, "the last sync of *\(suffix) \(last) came after \(event)\n\(summary)", sourceLocation: sourceLocation)
    }

    /// Every write to the file whose path ends with `suffix` is followed by a successful sync of that file that
    /// returned before `event` (an acknowledgement) was made: nothing acknowledged sits only in the page cache.
    func expectEveryWrite(toPathEndingIn suffix: String, syncedBefore event: Call, sourceLocation: SourceLocation = #_sourceLocation) {
        let syncs = syncs(ofPathEndingIn: suffix)
        let unsynced = writes(toPathEndingIn: suffix).filter { write in
            write.started < event.started && !syncs.contains { $0.started > write.returned && $0.returned < event.started }
        }
        #expect(unsynced.isEmpty, "\(unsynced.count) writes to *\(suffix) not synced before \(event), first: \(unsynced.first.map(String.init(describing:)) ?? "")\n\(summary)", sourceLocation: sourceLocation)
    }

    /// Each event in `acknowledgements` is preceded by a sync of the file ending with `suffix` that returned after
    /// the previous acknowledgement was made (one sync per acknowledged commit, at least).
    func expectSyncBeforeEach(_ acknowledgements: [Call], ofPathEndingIn suffix: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let syncs = syncs(ofPathEndingIn: suffix)
        var previous = -1
        for event in acknowledgements {
            let between = syncs.filter { $0.started > previous && $0.returned < event.started }
            #expect(!between.isEmpty, "no sync of *\(suffix) between line \(previous) and \(event)\n\(summary)", sourceLocation: sourceLocation)
            previous = event.started
        }
    }

    /// For every key in the writes to the ledger ending with `ledger` (`{"key":…}` lines), the row of that key was
    /// written to the file ending with `staging` and a sync of that file returned before the ledger write was made.
    /// Returns how many keys were checked.
    @discardableResult
    func expectEachKey(
        writtenTo ledger: String, afterItsRowIsSyncedIn staging: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int {
        let rowWrites = writes(toPathEndingIn: staging)
        let rowSyncs = syncs(ofPathEndingIn: staging)
        var checked = 0
        var early: [String] = []
        for ledgerWrite in writes(toPathEndingIn: ledger) {
            for key in Self.keyFields(in: ledgerWrite.text ?? "") {
                checked += 1
                guard let rowWrite = rowWrites.first(where: { $0.text?.contains(key) ?? false }),
                      rowWrite.returned < ledgerWrite.started
                else {
                    early.append("\(key) (no row written before \(ledgerWrite))")
                    continue
                }
                if !rowSyncs.contains(where: { $0.started > rowWrite.returned && $0.returned < ledgerWrite.started }) {
                    early.append("\(key) (row \(rowWrite), ledger \(ledgerWrite))")
                }
            }
        }
        #expect(checked > 0, "no key lines in the writes to *\(ledger)\n\(summary)", sourceLocation: sourceLocation)
        #expect(early.isEmpty, "\(early.count) of \(checked) keys reached *\(ledger) before their row was synced in *\(staging); first: \(early.prefix(3))\n\(summary)", sourceLocation: sourceLocation)
        return checked
    }

    /// The `"key":"…"` fields in `text`, each with its quotes as written (so `"key":"f1"` never matches `f10`).
    static func keyFields(in text: String) -> [String] {
        var fields: [String] = []
        var rest = text[...]
        while let start = rest.range(of: #""key":""#) {
            var index = start.upperBound
            var escaped = false
            while index < rest.endIndex, escaped || rest[index] != "\"" {
                escaped = !escaped && rest[index] == "\\"
                index = rest.index(after: index)
            }
            guard index < rest.endIndex else { break }
            fields.append(String(rest[start.lowerBound...index]))
            rest = rest[rest.index(after: index)...]
        }
        return fields
    }

    /// Per file: how many syncs, writes; for failure messages.
    var summary: String {
        var counts: [String: (syncs: Int, writes: Int)] = [:]
        for call in calls where call.path?.hasPrefix("/") ?? false {
            var entry = counts[call.path!, default: (0, 0)]
            if call.isSync { entry.syncs += 1 }
            if call.isWrite { entry.writes += 1 }
            counts[call.path!] = entry
        }
        let lines = counts.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value.syncs) syncs, \($0.value.writes) writes" }
        return "trace (\(calls.count) calls, exit \(status)):\n" + lines.joined(separator: "\n") + "\noutput:\n" + output.suffix(2000)
    }

    // MARK: Parsing

    static func firstPID(_ text: String) -> Int32? {
        text.split(separator: "\n", maxSplits: 1).first.flatMap { Int32($0.prefix { $0.isNumber }) }
    }

    /// Parses `strace -f -y -o` lines into completed calls, joining `<unfinished ...>` with `<... resumed>`.
    static func parse(_ text: String) -> [Call] {
        var calls: [Call] = []
        var pending: [Int32: (line: Int, text: Substring)] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            var line = rawLine[...]
            guard let pid = Int32(line.prefix { $0.isNumber }) else { continue }
            line = line.drop { $0.isNumber }.drop { $0 == " " }
            var started = index
            if line.hasPrefix("<... ") {
                guard let first = pending.removeValue(forKey: pid), let resumed = line.range(of: " resumed>") else { continue }
                // strace pads a resumed call's result to a column (`<... fdatasync resumed>)          = 0`), and
                // the first part ends with a space: without both trimmed, the joined call did not parse and every
                // call another thread interrupted was silently dropped from the trace.
                var head = first.text
                while head.last == " " { head = head.dropLast() }
                line = head + line[resumed.upperBound...]
                started = first.line
            } else if line.hasSuffix("<unfinished ...>") {
                pending[pid] = (index, line.dropLast("<unfinished ...>".count))
                continue
            }
            if let call = parseCall(line, pid: pid, started: started, returned: index) { calls.append(call) }
        }
        return calls
    }

    /// `write(5</tmp/x/out.jsonl>, "{\"key\"…", 42) = 42` → a call.
    static func parseCall(_ line: Substring, pid: Int32, started: Int, returned: Int) -> Call? {
        guard let open = line.firstIndex(of: "("), line[line.startIndex..<open].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
              let equals = line.range(of: "= ", options: .backwards) else { return nil }
        // The arguments end at the `)` before ` = ` (or before a column of padding spaces).
        var close = equals.lowerBound
        while close > open, line[line.index(before: close)] == " " { close = line.index(before: close) }
        guard close > open, line[line.index(before: close)] == ")" else { return nil }
        let name = String(line[..<open])
        let arguments = line[line.index(after: open)..<line.index(before: close)]
        let resultText = line[equals.upperBound...]
        let resultParts = resultText.split(separator: " ", maxSplits: 2)
        let result = resultParts.first.flatMap { Int($0) } ?? (resultParts.first.flatMap { Int($0.dropFirst(2), radix: 16) } ?? 0)
        let error = result < 0 && resultParts.count > 1 ? String(resultParts[1]) : nil
        var call = Call(pid: pid, name: name, result: result, error: error, started: started, returned: returned)
        var rest = arguments[...]
        let digits = rest.prefix { $0.isNumber }
        if !digits.isEmpty, let fd = Int32(digits) {
            call.descriptor = fd
            rest = rest.dropFirst(digits.count)
            if rest.first == "<", let close = pathEnd(rest) {
                call.path = String(rest[rest.index(after: rest.startIndex)..<close])
                rest = rest[rest.index(after: close)...]
            }
        }
        if ["writev", "readv", "sendmsg", "recvmsg", "pwritev", "pwritev2"].contains(name) {
            call.text = quotedStrings(rest).joined()  // every iovec's bytes, in order
        } else if let quote = rest.firstIndex(of: "\"") {
            call.text = unescape(rest[rest.index(after: quote)...])
        }
        return call
    }

    /// The `>` that ends a `-y` path: the first one followed by `,` or `)` or the end.
    private static func pathEnd(_ text: Substring) -> Substring.Index? {
        var index = text.startIndex
        while let close = text[index...].firstIndex(of: ">") {
            let next = text.index(after: close)
            if next == text.endIndex || text[next] == "," || text[next] == ")" { return close }
            index = next
        }
        return nil
    }

    /// Every C string literal in `text` (an iovec array's `iov_base` strings), unescaped.
    static func quotedStrings(_ text: Substring) -> [String] {
        var strings: [String] = []
        var index = text.startIndex
        while let quote = text[index...].firstIndex(of: "\"") {
            var end = text.index(after: quote)
            var escaped = false
            while end < text.endIndex, escaped || text[end] != "\"" {
                escaped = !escaped && text[end] == "\\"
                end = text.index(after: end)
            }
            strings.append(unescape(text[text.index(after: quote)...]))
            guard end < text.endIndex else { break }
            index = text.index(after: end)
        }
        return strings
    }

    /// A C string literal as strace prints it (up to its closing quote), as UTF-8 text.
    static func unescape(_ text: Substring) -> String {
        let input = Array(text.utf8)
        var bytes: [UInt8] = []
        var index = 0
        func isOctal(_ i: Int) -> Bool { i < input.count && (48...55).contains(input[i]) }
        func hex(_ i: Int) -> UInt8 { i < input.count ? UInt8(String(UnicodeScalar(input[i])), radix: 16) ?? 0 : 0 }
        while index < input.count {
            let byte = input[index]
            index += 1
            if byte == UInt8(ascii: "\"") { break }
            guard byte == UInt8(ascii: "\\"), index < input.count else {
                bytes.append(byte)
                continue
            }
            let escaped = input[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "v"): bytes.append(0x0B)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "x"):
                bytes.append(hex(index) << 4 | hex(index + 1))
                index += 2
            case 48...55:
                var value = Int(escaped - 48)
                for _ in 0..<2 where isOctal(index) {
                    value = value * 8 + Int(input[index] - 48)
                    index += 1
                }
                bytes.append(UInt8(truncatingIfNeeded: value))
            default: bytes.append(escaped)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
