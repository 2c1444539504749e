import Foundation

/// A source file to ingest: where it is, its format, the column(s) that identify an item, and the name it is
/// stored under (its versions are kept under that name).
///
/// Ids may be composite: `idColumns: ["incident_id", "narrative_type"]` makes one item per pair. A one-column id is
/// stored as its value; a composite id as a JSON array of the values (`["17","A"]`), so no separator can make two
/// ids collide.
///
/// ```swift
/// let source = try SourceFile(path: "narratives.csv", idColumns: ["incident_id", "narrative_type"])
/// let report = try await store.ingest(source, allowNewVersion: false)
/// ```
public struct SourceFile: Sendable, Equatable {
    /// The file formats a source can have.
    public enum Format: String, Sendable, Codable, CaseIterable {
        /// Comma-separated values with a header row; every value is text.
        case csv
        /// One JSON object per line (blank lines are skipped).
        case jsonl
    }

    /// The file.
    public var path: String
    /// Its format.
    public var format: Format
    /// The column(s) (CSV) or field(s) (JSONL) whose values identify an item, in order.
    public var idColumns: [String]
    /// The name the source is stored under; by default the file's name.
    public var name: String

    /// A source file; the format comes from the extension (`.csv`, `.jsonl`, `.ndjson`) unless given.
    ///
    /// - Throws: ``DurableRunStoreError`` (`invalidInput`) without an id column, or when the format is neither given
    ///   nor known from the extension.
    public init(path: String, format: Format? = nil, idColumns: [String], name: String? = nil) throws {
        guard !idColumns.isEmpty else {
            throw DurableRunStoreError(
                .invalidInput, operation: "ingest", message: "no id column given for \(path)",
                hint: "Name the column(s) that identify an item: --id incident_id [--id narrative_type].")
        }
        let ext = (path as NSString).pathExtension.lowercased()
        guard let resolved = format ?? (ext == "csv" ? .csv : ext == "jsonl" || ext == "ndjson" ? .jsonl : nil) else {
            throw DurableRunStoreError(
                .invalidInput, operation: "ingest", message: "cannot tell the format of \(path) from its extension '\(ext)'",
                hint: "Give it: --format csv or --format jsonl.")
        }
        self.path = path
        self.format = resolved
        self.idColumns = idColumns
        self.name = name ?? (path as NSString).lastPathComponent
    }
}
