import SystemPackage

/// The default output format: one JSON object per line, `{"key":…,fields}` (``KeyedRow``). Staging files are
/// always in it.
///
/// A JSON Lines file is read in bounded chunks of complete lines (its torn tail left out), its keys parsed on
/// several cores.
///
/// ```swift
/// let census = try KeyCensus.scan(rowsAt: "features.jsonl", format: .jsonLines)
/// ```
public struct JSONLinesFormat: RowFileFormat {
    /// The format.
    public init() {}

    public func forEachRow(
        in path: FilePath, fileSystem: any FileSystem, _ body: (KeyedRow) throws -> Void
    ) throws -> RowFileDamage {
        try forEachNumberedRow(in: path, fileSystem: fileSystem) { row, _ in try body(row) }
    }

    public func encode(
        _ rows: (_ emit: (KeyedRow) throws -> Void) throws -> Void, into write: ([UInt8]) throws -> Void
    ) throws {
        try withoutActuallyEscaping(write) { write in try rows { row in try write(row.line + [0x0A]) } }
    }

    /// Calls `body` with each valid row of the file at `path` and its index among the valid rows, in file order,
    /// reading it in chunks. A missing file has no rows.
    ///
    /// - Returns: how many complete lines were not valid rows (skipped), and the torn tail's size.
    @discardableResult
    func forEachNumberedRow(
        in path: FilePath, fileSystem: any FileSystem, _ body: (KeyedRow, Int) throws -> Void
    ) throws -> RowFileDamage {
        guard try fileSystem.isPresent(path) else { return RowFileDamage(malformed: 0, tornBytes: 0) }
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
        return RowFileDamage(malformed: malformed, tornBytes: layout.tornTail?.byteCount ?? 0)
    }

    /// The keys of the JSON Lines file at `path`, read without locking or changing it. A missing file is empty.
    static func census(
        rowsAt path: FilePath, options: RecoveryOptions, sharingKeysWith shared: RecordKeySet? = nil,
        fileSystem: any FileSystem
    ) throws(DurableIOError) -> KeyCensus {
        guard try fileSystem.isPresent(path) else { return KeyCensus(keys: [], path: path) }
        let (census, _) = try LineFile.recover(at: path, fileSystem: fileSystem, options: options) {
            (lines, layout) throws(DurableIOError) in
            let found = try Self.census(of: lines, layout: layout, options: options, sharingKeysWith: shared)
            return (found, found.report)
        }
        return census
    }

    /// The keys of an open JSON Lines file, parsed on several cores and gathered into the set on all of them, with
    /// its duplicates, malformed lines and torn tail.
    static func census(
        of lines: LineFile, layout: FileLayout, options: RecoveryOptions, sharingKeysWith shared: RecordKeySet? = nil
    ) throws(DurableIOError) -> KeyCensus {
        let (keys, duplicates, tally) = try ChunkParser.recoverKeys(
            lines, layout: layout, maxListed: options.maxListedMalformedLines,
            makeParser: {
                guard let shared else { return { KeyedRow.key(of: $0) } }
                return { KeyedRow.key(of: $0).map { shared.member(equalTo: $0) ?? $0 } }
            })
        try tally.checkStrict(options, path: lines.path)
        return KeyCensus(
            keys: keys, rowCount: keys.count + duplicates.count, duplicateCount: duplicates.count,
            sampleDuplicates: duplicates.sample, report: tally.report(path: lines.path, layout: layout))
    }
}

extension RowFileFormat where Self == JSONLinesFormat {
    /// One ``KeyedRow`` JSON object per line.
    public static var jsonLines: JSONLinesFormat { JSONLinesFormat() }
}
