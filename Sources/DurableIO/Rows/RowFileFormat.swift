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
