import Foundation

extension RunStore {
    /// The latest run that is not completed (what `durable-resume resume --latest` resumes), or `nil`.
    ///
    /// ```swift
    /// if let run = try await store.latestResumableRun() { print("resume", run.id) }
    /// ```
    public func latestResumableRun() async throws -> RunRecord? {
        try await runs().first { $0.status != .completed }
    }

    /// The source version to start a run on: with no id columns given, the latest stored version of `name` whose
    /// checksum is the file's (nothing is read but the checksum); otherwise, or when none matches, an ingest of
    /// the file (skipped when it is stored already).
    ///
    /// - Parameters:
    ///   - path: the source file (CSV with a header row, or JSONL).
    ///   - name: the name it is stored under; by default the file's name.
    ///   - format: `csv` or `jsonl`; by default from the extension.
    ///   - idColumns: the column(s) that identify an item; needed only when the file must be ingested.
    ///   - allowNewVersion: store a different file under an existing name as its next version.
    /// - Returns: the version, `skipped` when it was stored already (a reused version, or an ingest that found it).
    /// - Throws: what ``SourceChecksum`` and ``ingest(_:allowNewVersion:)`` throw.
    ///
    /// ```swift
    /// let report = try await store.resolveSource(at: "items.csv", idColumns: ["id"])
    /// if !report.skipped { print("ingested", report.source.itemCount, "items") }
    /// ```
    public func resolveSource(
        at path: String, name: String? = nil, format: SourceFile.Format? = nil, idColumns: [String] = [],
        allowNewVersion: Bool = false
    ) async throws -> IngestReport {
        let name = name ?? (path as NSString).lastPathComponent
        let checksum = try await SourceChecksum.sha256OffThePool(ofFileAt: path)
        if idColumns.isEmpty, let stored = try await sourceVersions(named: name).last(where: { $0.checksum == checksum }) {
            return IngestReport(source: stored, skipped: true)
        }
        return try await ingest(
            try SourceFile(path: path, format: format, idColumns: idColumns, name: name), allowNewVersion: allowNewVersion)
    }
}
