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
    /// Up to ten of the duplicated keys: for a JSON Lines file (read in parallel), the ten smallest in byte order.
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

    /// A census already counted.
    init(keys: RecordKeySet, rowCount: Int, duplicateCount: Int, sampleDuplicates: [RecordKey], report: RecoveryReport) {
        self.keys = keys
        self.rowCount = rowCount
        self.duplicateCount = duplicateCount
        self.sampleDuplicates = sampleDuplicates
        self.report = report
    }

    /// Reads the keys of the keyed-row file at `path` without locking or changing it. A missing file is empty.
    ///
    /// - Parameters:
    ///   - path: the keyed-row file.
    ///   - format: how the file stores rows; JSON Lines (the default) is read in parallel chunks.
    ///   - options: with `strict`, a malformed line throws ``DurableIOError/Code/malformedLine`` instead of being
    ///     counted in the report.
    ///   - fileSystem: the seam the file is read through (the real one by default).
    public static func scan(
        rowsAt path: FilePath, format: any RowFileFormat = .jsonLines, options: RecoveryOptions = RecoveryOptions(),
        fileSystem: any FileSystem = RealFileSystem()
    ) throws -> KeyCensus {
        try scan(rowsAt: path, format: format, options: options, sharingKeysWith: nil, fileSystem: fileSystem)
    }

    /// ``scan(rowsAt:format:options:fileSystem:)``, keeping `shared`'s instance of every key it holds (see
    /// `RecordKeySet.member(equalTo:)`): a census of rows whose keys the caller already holds costs a table slot per
    /// key, not another copy of the keys.
    package static func scan(
        rowsAt path: FilePath, format: any RowFileFormat = .jsonLines, options: RecoveryOptions = RecoveryOptions(),
        sharingKeysWith shared: RecordKeySet?, fileSystem: any FileSystem = RealFileSystem()
    ) throws -> KeyCensus {
        let intern = { (key: RecordKey) in shared?.member(equalTo: key) ?? key }
        guard format is JSONLinesFormat else {
            var keys: [RecordKey] = []
            let damage = try format.forEachRow(in: path, fileSystem: fileSystem) { keys.append(intern($0.key)) }
            var census = KeyCensus(keys: keys, path: path)
            census.report.malformedLineCount = damage.malformed
            if damage.malformed > 0 && options.strict {
                throw DurableIOError(
                    .malformedLine, operation: "read rows", path: path,
                    message: "\(damage.malformed) row(s) could not be read", hint: "Nothing was changed.")
            }
            return census
        }
        return try JSONLinesFormat.census(rowsAt: path, options: options, sharingKeysWith: shared, fileSystem: fileSystem)
    }
}
