import Foundation

/// One ingested version of a source: its items are in the database and never read from the file again.
///
/// A different file under the same name becomes a new version only when asked for; each run stays pinned to the
/// version it started with.
///
/// ```swift
/// if let source = try await store.source(named: "narratives.csv") {
///     print("\(source.name) v\(source.version): \(source.itemCount) items, sha256 \(source.checksum)")
/// }
/// ```
public struct SourceVersion: Sendable, Equatable, Codable {
    /// The database's id of this version.
    public var id: Int64
    /// The source's name.
    public var name: String
    /// 1 for the first ingest of the name, then 2, 3, …
    public var version: Int
    /// The file's format.
    public var format: SourceFile.Format
    /// The id column(s).
    public var idColumns: [String]
    /// The file's SHA-256, lower-case hex.
    public var checksum: String
    /// How many items it holds.
    public var itemCount: Int
    /// When it was ingested.
    public var ingestedAt: Date

    /// Creates the value (stores build it from their rows).
    public init(
        id: Int64, name: String, version: Int, format: SourceFile.Format, idColumns: [String], checksum: String,
        itemCount: Int, ingestedAt: Date
    ) {
        self.id = id
        self.name = name
        self.version = version
        self.format = format
        self.idColumns = idColumns
        self.checksum = checksum
        self.itemCount = itemCount
        self.ingestedAt = ingestedAt
    }
}

/// What an ingest did: stored a new version, or found the same file already stored and skipped it.
///
/// ```swift
/// let report = try await store.ingest(source, allowNewVersion: false)
/// print(report.skipped ? "already ingested as v\(report.source.version)" : "ingested \(report.source.itemCount) items")
/// ```
public struct IngestReport: Sendable, Equatable {
    /// The version stored (or found).
    public var source: SourceVersion
    /// `true` when a version with the same checksum was already stored: nothing was read or written.
    public var skipped: Bool

    /// Creates a report.
    public init(source: SourceVersion, skipped: Bool) {
        self.source = source
        self.skipped = skipped
    }
}
