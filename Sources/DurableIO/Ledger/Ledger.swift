import Foundation
import SystemPackage

/// An append-only JSONL file of `Codable` entries, one JSON object per line, each append durable on return.
///
/// Opening recovers the file and reports what it found (``recovery``): entries, malformed lines with their line
/// numbers, a torn tail. A torn tail is preserved aside in `<file>.torn-<UTC time>` and cut off before anything
/// is appended, so a new line never joins a partial one. Only one process writes at a time (an exclusive
/// `flock`; a second writer gets ``DurableIOError/Code/ledgerLocked`` naming the holder's pid).
///
/// `append` returns when the line is on stable storage (written with one `write` on an `O_APPEND` descriptor,
/// then `fdatasync`). Concurrent appends share syncs (group commit). After a failed append the ledger is
/// poisoned: later appends throw until it is reopened. Safe to use from many threads and tasks.
///
/// ```swift
/// struct Done: Codable, Sendable { var clip: String; var frames: Int }
/// let ledger = try Ledger<Done>.open(at: "clips.done")
/// print(ledger.recovered.count, ledger.recovery)
/// try ledger.append(Done(clip: "clip_000017.mp4", frames: 900))   // durable when it returns
/// try await ledger.append(Done(clip: "clip_000018.mp4", frames: 880))
/// ```
public final class Ledger<Entry: Codable & Sendable>: Sendable {
    /// The ledger's file.
    public let path: FilePath
    /// What opening found.
    public let recovery: RecoveryReport
    /// The entries that were in the file when it was opened, in file order.
    public let recovered: [Entry]
    private let file: LedgerFile

    private init(file: LedgerFile, recovered: [Entry], recovery: RecoveryReport) {
        self.path = file.path
        self.file = file
        self.recovered = recovered
        self.recovery = recovery
    }

    deinit { try? file.close() }

    /// Opens (or creates) the ledger at `path` for appending, recovering its content.
    ///
    /// - Throws: ``DurableIOError`` — `ledgerLocked` when another process writes it, `malformedLine` in strict
    ///   mode, or the failing system call.
    public static func open(
        at path: FilePath, options: RecoveryOptions = RecoveryOptions(), fileSystem: any FileSystem = RealFileSystem()
    ) throws(DurableIOError) -> Ledger {
        let (file, entries, report) = try LedgerFile.open(at: path, fileSystem: fileSystem, options: options) {
            (lines, layout) throws(DurableIOError) in try decode(lines, layout, options)
        }
        return Ledger(file: file, recovered: entries, recovery: report)
    }

    /// Reads the ledger at `path` without locking or changing it.
    public static func recover(
        at path: FilePath, options: RecoveryOptions = RecoveryOptions(), fileSystem: any FileSystem = RealFileSystem()
    ) throws(DurableIOError) -> (entries: [Entry], report: RecoveryReport) {
        let (entries, report) = try LineFile.recover(at: path, fileSystem: fileSystem, options: options, operation: "open ledger") {
            (lines, layout) throws(DurableIOError) in try decode(lines, layout, options)
        }
        return (entries, report)
    }

    private static func decode(_ lines: LineFile, _ layout: FileLayout, _ options: RecoveryOptions) throws(DurableIOError)
        -> ([Entry], RecoveryReport)
    {
        var entries: [Entry] = []
        let tally = try ChunkParser.recover(
            lines, layout: layout, maxListed: options.maxListedMalformedLines,
            makeParser: {
                let decoder = JSONDecoder()
                return { line in
                    do {
                        return .success(try decoder.decode(Entry.self, from: Data(line)))
                    } catch {
                        return .failure(LineRejection(reason: "not a valid \(Entry.self) (\(Self.summary(of: error)))"))
                    }
                }
            }, sink: { entries.append($0) })
        try tally.checkStrict(options, path: lines.path)
        return (entries, tally.report(path: lines.path, layout: layout))
    }

    static func summary(of error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted: return "invalid JSON"
        case DecodingError.keyNotFound(let key, _): return "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "undecodable"
        }
    }

    /// Appends `entry` and returns when it is durable (blocking the calling thread during the sync).
    public func append(_ entry: Entry) throws {
        try file.append(try Self.line(entry))
    }

    /// Appends `entries` with one write and one sync; returns when all are durable.
    public func append(contentsOf entries: some Sequence<Entry>) throws {
        var bytes: [UInt8] = []
        for entry in entries { bytes += try Self.line(entry) }
        guard !bytes.isEmpty else { return }
        try file.append(bytes)
    }

    /// Appends `entry` and resumes when it is durable; the sync runs off the cooperative pool and is shared
    /// with concurrent appends.
    public func append(_ entry: Entry) async throws {
        try await file.appendAsync(try Self.line(entry))
    }

    /// Waits for appends in flight and closes the file, releasing the writer lock. Later appends throw.
    public func close() throws(DurableIOError) { try file.close() }

    static func line(_ entry: Entry) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = Array(try encoder.encode(entry))
        bytes.append(0x0A)
        return bytes
    }
}
