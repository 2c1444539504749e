import Foundation
import SystemPackage

/// The keys present in a file of keyed rows (an output or a staging file), with duplicates counted.
///
/// Memory is bounded by the key set, not by the rows: the file is read in chunks.
///
/// ```swift
/// let present = try KeyCensus.scan(rowsAt: "features.jsonl")
/// print(present.rowCount, present.keys.count, present.duplicateCount)
/// ```
public struct KeyCensus: Sendable {
    /// Every key present, once.
    public var keys: RecordKeySet
    /// Valid rows read (duplicates included).
    public var rowCount: Int
    /// Rows whose key had been seen before in the same file.
    public var duplicateCount: Int
    /// Up to ten of the duplicated keys.
    public var sampleDuplicates: [RecordKey]
    /// Malformed lines and torn tail.
    public var report: RecoveryReport

    /// A census of rows held in memory (for tests and for callers with their own output format).
    public init(keys: some Sequence<RecordKey>, path: FilePath = "") {
        var set = RecordKeySet()
        var rows = 0
        var duplicates: [RecordKey] = []
        var duplicateCount = 0
        for key in keys {
            rows += 1
            if !set.insert(key) {
                duplicateCount += 1
                if duplicates.count < 10 { duplicates.append(key) }
            }
        }
        self.keys = set
        self.rowCount = rows
        self.duplicateCount = duplicateCount
        self.sampleDuplicates = duplicates
        self.report = RecoveryReport(
            path: path, validEntries: rows, malformedLineCount: 0, malformedLines: [], tornTail: nil, validLength: 0,
            fileSize: 0)
    }

    /// Reads the keys of the keyed-row file at `path` without locking or changing it. A missing file is empty.
    ///
    /// - Parameter format: how the file stores rows; JSON Lines (the default) is read in parallel chunks.
    public static func scan(
        rowsAt path: FilePath, format: any RowFileFormat = .jsonLines, options: RecoveryOptions = RecoveryOptions(),
        fileSystem: any FileSystem = RealFileSystem()
    ) throws -> KeyCensus {
        guard format is JSONLinesFormat else {
            var keys: [RecordKey] = []
            let damage = try format.forEachRow(in: path, fileSystem: fileSystem) { keys.append($0.key) }
            var census = KeyCensus(keys: keys, path: path)
            census.report.malformedLineCount = damage.malformed
            if damage.malformed > 0 && options.strict {
                throw DurableIOError(
                    .malformedLine, operation: "read rows", path: path,
                    message: "\(damage.malformed) row(s) could not be read", hint: "Nothing was changed.")
            }
            return census
        }
        return try scanJSONLines(rowsAt: path, options: options, fileSystem: fileSystem)
    }

    static func scanJSONLines(
        rowsAt path: FilePath, options: RecoveryOptions, fileSystem: any FileSystem
    ) throws(DurableIOError) -> KeyCensus {
        guard try existing(path, fileSystem) else { return KeyCensus(keys: [], path: path) }
        let (census, _) = try LedgerFile.read(at: path, fileSystem: fileSystem, options: options) {
            (lines, layout) throws(DurableIOError) in
            let census = try scan(lines, layout: layout, options: options)
            return (census, census.report)
        }
        return census
    }

    static func scan(_ lines: LineFile, layout: FileLayout, options: RecoveryOptions) throws(DurableIOError) -> KeyCensus {
        var keys: [RecordKey] = []
        let tally = try ChunkParser.recover(
            lines, layout: layout, maxListed: options.maxListedMalformedLines,
            makeParser: { { KeyedRow.key(of: $0) } }, sink: { keys.append($0) })
        try tally.checkStrict(options, path: lines.path)
        var census = KeyCensus(keys: keys, path: lines.path)
        census.report = tally.report(path: lines.path, layout: layout)
        return census
    }

    /// Whether the file exists; an error other than `ENOENT` is an error, never "absent".
    static func existing(_ path: FilePath, _ fileSystem: any FileSystem) throws(DurableIOError) -> Bool {
        do { return try fileSystem.exists(path) } catch { throw DurableIOError.syscall("stat", path: path, error) }
    }

    /// Calls `body` with each valid row of the file at `path`, in file order, reading it in chunks.
    ///
    /// - Returns: how many complete lines were not valid rows (skipped), and the torn tail's size.
    @discardableResult
    static func forEachRow(
        at path: FilePath, fileSystem: any FileSystem, _ body: (KeyedRow, Int) throws -> Void
    ) throws -> (malformed: Int, tornBytes: Int) {
        guard try existing(path, fileSystem) else { return (0, 0) }
        let fd: FileDescriptor
        do { fd = try fileSystem.open(path, .readOnly, options: [], permissions: nil) } catch {
            throw DurableIOError.syscall("open", path: path, error)
        }
        defer { try? fileSystem.close(fd) }
        let lines = LineFile(fileSystem: fileSystem, fd: fd, path: path)
        let layout = try lines.layout()
        var index = 0
        var malformed = 0
        var failure: (any Error)?
        try lines.forEachChunk(upTo: layout.validLength) { (chunk, _) throws(DurableIOError) in
            guard failure == nil else { return }
            try chunk.forEachLine { (line, _) throws(DurableIOError) in
                guard failure == nil else { return }
                guard case .success(let key) = KeyedRow.key(of: line) else {
                    malformed += 1
                    return
                }
                do { try body(KeyedRow(key: key, storedLine: Array(line)), index) } catch { failure = error }
                index += 1
            }
        }
        if let failure { throw failure }
        return (malformed, layout.tornTail?.byteCount ?? 0)
    }
}
