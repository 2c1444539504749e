import SystemPackage

/// How a final output file stores keyed rows. JSON Lines (``JSONLinesFormat``, one ``KeyedRow`` line per row) is
/// built in; `DurableRun` adds CSV. Ledger and staging are always JSON Lines: only the final output, written
/// whole by an atomic replace, takes a format.
///
/// ```swift
/// let census = try KeyCensus.scan(rowsAt: "features.csv", format: CSVRowFormat())
/// try Finalizer(output: "features.csv", staging: "features.csv.rows.jsonl", format: CSVRowFormat())
///     .finalize(ledger: done.keys)
/// ```
public protocol RowFileFormat: Sendable {
    /// Calls `body` with each row of the file at `path`, in file order. A missing file has no rows.
    ///
    /// - Returns: how many rows could not be read, and the size of a torn tail.
    func forEachRow(
        in path: FilePath, fileSystem: any FileSystem, _ body: (KeyedRow) throws -> Void
    ) throws -> RowFileDamage

    /// Encodes rows into a new file's bytes. `rows` calls its argument once per row, in order; a format that
    /// must see every row before writing (a CSV header wide enough for all of them) may call `rows` twice.
    func encode(
        _ rows: (_ emit: (KeyedRow) throws -> Void) throws -> Void, into write: ([UInt8]) throws -> Void
    ) throws
}

/// Rows a file held that could not be read.
public struct RowFileDamage: Sendable, Equatable {
    /// Complete rows that were not valid.
    public var malformed: Int
    /// Bytes after the last complete row.
    public var tornBytes: Int

    /// No damage.
    public var isClean: Bool { malformed == 0 && tornBytes == 0 }

    /// Creates a damage count.
    public init(malformed: Int, tornBytes: Int) {
        self.malformed = malformed
        self.tornBytes = tornBytes
    }
}

/// The default output format: one JSON object per line, `{"key":…,fields}` (``KeyedRow``).
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
        let damage = try KeyCensus.forEachRow(at: path, fileSystem: fileSystem) { row, _ in try body(row) }
        return RowFileDamage(malformed: damage.malformed, tornBytes: damage.tornBytes)
    }

    public func encode(
        _ rows: (_ emit: (KeyedRow) throws -> Void) throws -> Void, into write: ([UInt8]) throws -> Void
    ) throws {
        try withoutActuallyEscaping(write) { write in try rows { row in try write(row.line + [0x0A]) } }
    }
}

extension RowFileFormat where Self == JSONLinesFormat {
    /// One ``KeyedRow`` JSON object per line.
    public static var jsonLines: JSONLinesFormat { JSONLinesFormat() }
}
