import Foundation
import SystemPackage

/// The append-only staging file of completed rows (`<out>.rows.jsonl`): each row durable before its key goes
/// to the ledger, so a crash never loses a row whose key was acknowledged.
///
/// The same mechanics as ``Ledger`` (single writer, torn-tail quarantine, group commit, poisoning). Recovery
/// (``recovery``, or ``recover(at:options:fileSystem:)`` read-only) returns the keys, the malformed-line count
/// and the keys staged more than once: each is kept once (the last row staged wins), counted and reported.
///
/// ```swift
/// let staging = try StagingFile.open(at: "features.jsonl.rows.jsonl")
/// try staging.append(KeyedRow(key: "clip_000017", json: Array(#"{"frames":900}"#.utf8)))
/// try done.insert("clip_000017")   // only after the row is durable
/// ```
public final class StagingFile: Sendable {
    /// The staging file.
    public let path: FilePath
    /// What opening found.
    public let recovery: StagingRecovery
    private let file: LedgerFile

    private init(file: LedgerFile, recovery: StagingRecovery) {
        self.path = file.path
        self.file = file
        self.recovery = recovery
    }

    deinit { try? file.close() }

    /// Opens (or creates) the staging file for appending, recovering it.
    public static func open(
        at path: FilePath, options: RecoveryOptions = RecoveryOptions(), fileSystem: any FileSystem = RealFileSystem()
    ) throws(DurableIOError) -> StagingFile {
        try open(at: path, options: options, sharingKeysWith: nil, fileSystem: fileSystem)
    }

    /// ``open(at:options:fileSystem:)``, keeping `shared`'s instance of every recovered key it holds (the run's
    /// ledger): the recovery's key set then costs a table slot per key, not another copy of the keys.
    package static func open(
        at path: FilePath, options: RecoveryOptions = RecoveryOptions(), sharingKeysWith shared: RecordKeySet?,
        fileSystem: any FileSystem = RealFileSystem()
    ) throws(DurableIOError) -> StagingFile {
        let (file, recovery, _) = try LedgerFile.open(at: path, fileSystem: fileSystem, options: options) {
            (lines, layout) throws(DurableIOError) in
            let census = try JSONLinesFormat.census(of: lines, layout: layout, options: options, sharingKeysWith: shared)
            return (StagingRecovery(census: census), census.report)
        }
        return StagingFile(file: file, recovery: recovery)
    }

    /// Reads the staging file at `path` without locking or changing it.
    public static func recover(
        at path: FilePath, options: RecoveryOptions = RecoveryOptions(), fileSystem: any FileSystem = RealFileSystem()
    ) throws(DurableIOError) -> StagingRecovery {
        let census = try JSONLinesFormat.census(rowsAt: path, options: options, fileSystem: fileSystem)
        return StagingRecovery(census: census)
    }

    /// Appends `row` and returns when it is durable.
    public func append(_ row: KeyedRow) throws {
        try file.append(row.line + [0x0A])
    }

    /// Appends `rows` with one write and one sync.
    public func append(contentsOf rows: some Sequence<KeyedRow>) throws {
        var bytes: [UInt8] = []
        for row in rows { bytes += row.line + [0x0A] }
        guard !bytes.isEmpty else { return }
        try file.append(bytes)
    }

    /// Appends `row` and resumes when it is durable; the sync is shared with concurrent appends.
    public func append(_ row: KeyedRow) async throws {
        try await file.appendAsync(row.line + [0x0A])
    }

    /// Waits for appends in flight and closes the file, releasing the writer lock.
    public func close() throws(DurableIOError) { try file.close() }
}

/// What recovering a staging file found.
///
/// ```swift
/// let found = try StagingFile.recover(at: staging)
/// print(found.keys.count, found.duplicateCount, found.report.malformedLineCount)
/// ```
public struct StagingRecovery: Sendable {
    /// Every key with a valid row, once.
    public var keys: RecordKeySet { census.keys }
    /// Rows beyond the first for a key (kept once; the last one staged wins).
    public var duplicateCount: Int { census.duplicateCount }
    /// Some of the keys staged more than once.
    public var sampleDuplicateKeys: [RecordKey] { census.sampleDuplicates }
    /// Malformed lines and torn tail.
    public var report: RecoveryReport { census.report }
    /// The keys as a ``KeyCensus``, for ``RowAccounting``.
    public let census: KeyCensus

    init(census: KeyCensus) { self.census = census }
}
