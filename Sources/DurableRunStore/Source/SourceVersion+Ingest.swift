extension SourceVersion {
    /// The ingest rule every store applies, given the versions stored under `source.name`: the same file (same
    /// checksum) again is skipped — it returns that version — and a different file is refused unless
    /// `allowNewVersion`, in which case it returns `nil` and the caller stores a new version.
    ///
    /// - Throws: ``DurableRunStoreError/Code/invalidInput`` (same file, other id columns) or
    ///   ``DurableRunStoreError/Code/sourceChanged`` naming both checksums.
    package static func alreadyIngested(
        _ source: SourceFile, checksum: String, among versions: [SourceVersion], allowNewVersion: Bool
    ) throws -> SourceVersion? {
        if let same = versions.last(where: { $0.checksum == checksum }) {
            guard same.idColumns == source.idColumns else {
                throw DurableRunStoreError(
                    .invalidInput, operation: "ingest",
                    message: "\(source.name) v\(same.version) has this checksum but id column(s) \(same.idColumns.joined(separator: ", ")), not \(source.idColumns.joined(separator: ", "))",
                    hint: "Use the id columns it was ingested with, or ingest it under another --name.")
            }
            return same
        }
        if let latest = versions.last, !allowNewVersion {
            throw DurableRunStoreError(
                .sourceChanged, operation: "ingest",
                message: "source '\(source.name)' is already ingested (v\(latest.version), sha256 \(latest.checksum)); \(source.path) is a different file (sha256 \(checksum))",
                hint: "To store it as v\(latest.version + 1) pass --new-version (runs stay pinned to the version they started with); otherwise check that this is the right file.")
        }
        return nil
    }
}
