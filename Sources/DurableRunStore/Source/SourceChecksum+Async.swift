import DurableIO

extension SourceChecksum {
    /// ``sha256(ofFileAt:)`` on a thread of its own: reading a large file must not occupy a thread of the
    /// cooperative pool (two of them on a 2-core machine).
    ///
    /// ```swift
    /// let checksum = try await SourceChecksum.sha256OffThePool(ofFileAt: "narratives.csv")
    /// ```
    public static func sha256OffThePool(ofFileAt path: String) async throws -> String {
        try await DedicatedThread.run("checksum") { try sha256(ofFileAt: path) }
    }
}
