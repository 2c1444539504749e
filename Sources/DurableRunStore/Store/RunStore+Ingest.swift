/// What the ingest preamble found: the file is stored already (skip it), or a new version is to be stored.
package enum IngestStart: Sendable {
    /// The same file (same checksum) is stored: the report to return.
    case skipped(IngestReport)
    /// Store it: its checksum, and the versions stored under its name when they were read.
    case store(checksum: String, versions: [SourceVersion])
}

extension RunStore {
    /// The preamble of every store's ``RunStore/ingest(_:allowNewVersion:)``: the file's checksum (read off the
    /// cooperative pool), the versions stored under its name, and
    /// ``SourceVersion/alreadyIngested(_:checksum:among:allowNewVersion:)`` on them. A store then checks the rule again under its write lock and stores the new version.
    ///
    /// ```swift
    /// guard case .store(let checksum, let versions) = try await ingestStart(source, allowNewVersion: allow) else { … }
    /// ```
    package func ingestStart(_ source: SourceFile, allowNewVersion: Bool) async throws -> IngestStart {
        let checksum = try await SourceChecksum.sha256OffThePool(ofFileAt: source.path)
        let versions = try await sourceVersions(named: source.name)
        if let same = try SourceVersion.alreadyIngested(
            source, checksum: checksum, among: versions, allowNewVersion: allowNewVersion)
        {
            return .skipped(IngestReport(source: same, skipped: true))
        }
        return .store(checksum: checksum, versions: versions)
    }
}
