import Crypto
import DurableIO
import Foundation
import SystemPackage

/// The built-in extractor (`durable-extract run --builtin file-stats`): a file's size, line count and SHA-256,
/// read in 64 KiB chunks so memory stays flat whatever the file's size.
///
/// ```swift
/// let row = try FileStats.row(for: "/data/clips/clip_000017.txt")
/// // {"bytes":2048,"lines":40,"sha256":"9f86d0…"}
/// ```
public enum FileStats {
    /// The row for the file at `path`: the bytes of `{"bytes":…,"lines":…,"sha256":"…"}`.
    ///
    /// - Throws: `DurableIOError.Code.systemCall` naming the file when it cannot be read.
    public static func row(for path: FilePath, fileSystem: any FileSystem = RealFileSystem()) throws -> [UInt8] {
        let fd: FileDescriptor
        do { fd = try fileSystem.open(path, .readOnly, options: [], permissions: nil) } catch {
            throw DurableIOError.syscall("open", path: path, error)
        }
        defer { try? fileSystem.close(fd) }
        var hasher = SHA256()
        var bytes = 0
        var lines = 0
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n: Int
            do { n = try buffer.withUnsafeMutableBytes { try fileSystem.read(fd, into: $0) } } catch {
                throw DurableIOError.syscall("read", path: path, error as? Errno ?? .ioError)
            }
            if n == 0 { break }
            let chunk = buffer[..<n]
            hasher.update(data: chunk)
            bytes += n
            lines += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return Array(#"{"bytes":\#(bytes),"lines":\#(lines),"sha256":"\#(digest)"}"#.utf8)
    }
}

extension FileStats {
    /// ``row(for:fileSystem:)`` on a dispatch queue, off the cooperative pool (which blocking reads must not
    /// occupy on a small machine).
    public static func rowOffPool(for path: FilePath) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try row(for: path) }) }
        }
    }
}
