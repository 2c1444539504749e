import Crypto
import Foundation

/// The SHA-256 of a source file, streamed in 1 MiB pieces (the file is never held whole in memory).
///
/// ```swift
/// let checksum = try SourceChecksum.sha256(ofFileAt: "narratives.csv")   // 64 lower-case hex digits
/// ```
public enum SourceChecksum {
    /// The file's SHA-256 as 64 lower-case hex digits.
    ///
    /// - Throws: ``DurableRunStoreError`` (`invalidSource`) when the file cannot be read.
    public static func sha256(ofFileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DurableRunStoreError(
                .invalidSource, operation: "checksum", message: "cannot open \(path) for reading",
                hint: "Check the path and its permissions.")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        } catch {
            throw DurableRunStoreError(.invalidSource, operation: "checksum", message: "reading \(path) failed: \(error)")
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
