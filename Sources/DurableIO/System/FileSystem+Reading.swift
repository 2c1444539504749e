import SystemPackage

extension FileSystem {
    /// Reads up to `count` bytes at `offset`, completing short reads with further `pread` calls; fewer only at the
    /// end of the file.
    ///
    /// ```swift
    /// let record = try fileSystem.read(fd, upTo: 4096, at: 0)   // the first 4 KiB, or the whole shorter file
    /// ```
    ///
    /// - Throws: the `Errno` of the first failing call.
    package func read(_ fd: FileDescriptor, upTo count: Int, at offset: Int64) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = try buffer.withUnsafeMutableBytes { b in
                Result { () throws(Errno) in
                    try pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: b[filled...]), at: offset + Int64(filled))
                }
            }.get()
            if n == 0 { break }
            filled += n
        }
        if filled < count { buffer.removeSubrange(filled...) }
        return buffer
    }

    /// The bytes of the small file at `path` (at most `limit`), read with `read` until the end of the file: right
    /// for the kernel's files under `/proc` and `/sys`, whose size `stat` reports as 0.
    ///
    /// ```swift
    /// let status = String(decoding: try fileSystem.contents(of: "/proc/self/status"), as: UTF8.self)
    /// ```
    ///
    /// - Throws: the `Errno` of the failing `open` or `read`.
    package func contents(of path: FilePath, limit: Int = 1 << 20) throws(Errno) -> [UInt8] {
        let fd = try open(path, .readOnly, options: [], permissions: nil)
        defer { try? close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while bytes.count < limit {
            let n = try chunk.withUnsafeMutableBytes { b in Result { () throws(Errno) in try read(fd, into: b) } }.get()
            if n == 0 { break }
            bytes.append(contentsOf: chunk[..<min(n, limit - bytes.count)])
        }
        return bytes
    }

    /// The text of the small file at `path` (see ``contents(of:limit:)``), or `nil` when it cannot be read: for
    /// what the kernel tells about processes, where "unknown" is an answer.
    package func text(of path: FilePath) -> String? {
        guard let bytes = try? contents(of: path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
