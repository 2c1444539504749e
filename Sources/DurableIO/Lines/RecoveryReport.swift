import Logging
import SystemPackage

/// What recovering a JSONL file (a ledger or a staging file) found: valid entries, malformed lines, a torn tail.
///
/// Nothing is skipped silently: every complete line that is not a valid entry is counted here, with its line
/// number and byte offset (the first ``RecoveryOptions/maxListedMalformedLines`` of them listed), and a
/// swift-log warning says how many were skipped and how many recovered.
///
/// ```swift
/// let ledger = try KeyLedger.open(at: "out.jsonl.done")
/// let report = ledger.recovery
/// print("\(report.validEntries) keys, \(report.malformedLineCount) malformed, torn tail: \(report.tornTail?.byteCount ?? 0) bytes")
/// ```
public struct RecoveryReport: Sendable, Equatable, CustomStringConvertible {
    /// The file recovered.
    public var path: FilePath
    /// Complete lines that decoded to an entry.
    public var validEntries: Int
    /// Complete lines (ending in `\n`) that did not decode; they stay in the file and are skipped.
    public var malformedLineCount: Int
    /// The first malformed lines (up to ``RecoveryOptions/maxListedMalformedLines``), in file order.
    public var malformedLines: [MalformedLine]
    /// The last segment of the file that is not a complete line, if any: the remains of a write a crash cut.
    public var tornTail: TornTail?
    /// Bytes up to and including the last complete line.
    public var validLength: Int64
    /// The file's size when it was recovered.
    public var fileSize: Int64

    /// Whether the file was entirely clean.
    public var isClean: Bool { malformedLineCount == 0 && tornTail == nil }

    public var description: String {
        var parts = ["\(path): \(validEntries.formatted) entries recovered"]
        if malformedLineCount > 0 {
            let lines = malformedLines.prefix(5).map { String($0.lineNumber) }.joined(separator: ", ")
            parts.append("\(malformedLineCount.formatted) malformed lines skipped (lines \(lines)\(malformedLineCount > 5 ? ", …" : ""))")
        }
        if let tornTail { parts.append(tornTail.description) }
        return parts.joined(separator: "; ")
    }

    /// Logs one warning when anything was skipped or torn.
    func logWarnings(to logger: Logger) {
        guard !isClean else { return }
        logger.warning(
            "recovered with damage: \(description)",
            metadata: [
                "path": "\(path)", "recovered": "\(validEntries)", "malformed": "\(malformedLineCount)",
                "tornTailBytes": "\(tornTail?.byteCount ?? 0)",
            ])
    }
}

/// A complete line that is not a valid entry. Its contents are not kept (privacy, size).
///
/// ```swift
/// for line in report.malformedLines { print("line \(line.lineNumber) at byte \(line.byteOffset): \(line.reason)") }
/// ```
public struct MalformedLine: Sendable, Equatable {
    /// 1-based line number.
    public var lineNumber: Int
    /// Byte offset of the line's first byte.
    public var byteOffset: Int64
    /// Length in bytes, without the newline.
    public var length: Int
    /// Why it was rejected (never the line's content).
    public var reason: String

    /// Creates a record.
    package init(lineNumber: Int, byteOffset: Int64, length: Int, reason: String) {
        self.lineNumber = lineNumber
        self.byteOffset = byteOffset
        self.length = length
        self.reason = reason
    }
}

/// The end of a file that is not a complete line: a write cut short by a crash, or a run of NUL bytes where the
/// file's size reached disk before its data (XFS, ext4 `data=writeback`).
///
/// ```swift
/// if let torn = ledger.recovery.tornTail { print("cut \(torn.byteCount) bytes at \(torn.byteOffset), NUL: \(torn.isZeroFilled)") }
/// ```
public struct TornTail: Sendable, Equatable, CustomStringConvertible {
    /// Offset of the first torn byte (just past the last complete line).
    public var byteOffset: Int64
    /// How many bytes are torn.
    public var byteCount: Int
    /// Whether the torn bytes are all NUL.
    public var isZeroFilled: Bool

    /// Creates a record.
    package init(byteOffset: Int64, byteCount: Int, isZeroFilled: Bool) {
        self.byteOffset = byteOffset
        self.byteCount = byteCount
        self.isZeroFilled = isZeroFilled
    }

    public var description: String {
        "torn tail of \(byteCount.formatted) bytes at offset \(byteOffset)\(isZeroFilled ? " (all NUL)" : "")"
    }
}

/// How recovery treats damage.
///
/// ```swift
/// let ledger = try KeyLedger.open(at: path, options: .init(strict: true))   // throw on any malformed line
/// ```
public struct RecoveryOptions: Sendable {
    /// Throw ``DurableIOError/Code/malformedLine`` on any malformed line that is not the torn tail.
    public var strict: Bool
    /// How many malformed lines the report lists (all are counted).
    public var maxListedMalformedLines: Int
    /// Where warnings go.
    public var logger: Logger

    /// Creates options.
    public init(strict: Bool = false, maxListedMalformedLines: Int = 100, logger: Logger = Logger(label: "DurableIO")) {
        self.strict = strict
        self.maxListedMalformedLines = maxListedMalformedLines
        self.logger = logger
    }
}

/// Counts lines while a recovery walks a file.
struct RecoveryTally {
    var valid = 0
    var malformedCount = 0
    var malformed: [MalformedLine] = []
    let maxListed: Int

    init(maxListed: Int) { self.maxListed = maxListed }

    mutating func recordMalformed(lineNumber: Int, offset: Int64, length: Int, reason: String) {
        malformedCount += 1
        if malformed.count < maxListed {
            malformed.append(MalformedLine(lineNumber: lineNumber, byteOffset: offset, length: length, reason: reason))
        }
    }

    func report(path: FilePath, layout: FileLayout) -> RecoveryReport {
        RecoveryReport(
            path: path, validEntries: valid, malformedLineCount: malformedCount, malformedLines: malformed,
            tornTail: layout.tornTail, validLength: layout.validLength, fileSize: layout.fileSize)
    }

    /// Throws in strict mode when anything is malformed.
    func checkStrict(_ options: RecoveryOptions, path: FilePath) throws(DurableIOError) {
        guard options.strict, let first = malformed.first else { return }
        throw DurableIOError(
            .malformedLine, operation: "recover", path: path,
            message:
                "\(malformedCount.formatted) malformed line(s), first at line \(first.lineNumber) (byte \(first.byteOffset)): \(first.reason)",
            hint: "Nothing was changed. Inspect the lines named, or open without strict mode to skip and count them.")
    }
}

extension Int {
    /// 152265 → "152,265" (the same in every locale: messages are searched and compared).
    package var formatted: String {
        let digits = String(magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return self < 0 ? "-" + out : out
    }
}
