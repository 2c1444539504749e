import SystemPackage
import Foundation

/// Where the complete lines of a JSONL file end and its torn tail begins.
struct FileLayout: Sendable {
    var fileSize: Int64
    /// Bytes up to and including the last complete line that is not NUL damage.
    var validLength: Int64
    var tornTail: TornTail?
}

/// Reads a JSONL file as complete lines, in bounded chunks, and finds its torn tail.
///
/// The torn tail is the segment after the last `\n`, extended backwards over complete lines that contain a NUL
/// byte (valid JSON never holds a raw NUL; a run of them at the end is the size-before-data damage of a crash,
/// not a run of malformed lines).
struct LineFile {
    let fileSystem: any FileSystem
    let fd: FileDescriptor
    let path: FilePath

    static let chunkSize = 4 << 20

    /// Opens `path` read-only and hands it to `recover`, without locking or changing it; logs what the report
    /// found. A failing `open` is reported as `operation`.
    static func recover<R>(
        at path: FilePath, fileSystem: any FileSystem, options: RecoveryOptions, operation: String = "open",
        _ recover: (LineFile, FileLayout) throws(DurableIOError) -> (R, RecoveryReport)
    ) throws(DurableIOError) -> (R, RecoveryReport) {
        let fd: FileDescriptor
        do { fd = try fileSystem.open(path, .readOnly, options: [], permissions: nil) } catch {
            throw DurableIOError.syscall(operation, path: path, error)
        }
        defer { try? fileSystem.close(fd) }
        let lines = LineFile(fileSystem: fileSystem, fd: fd, path: path)
        let result = try recover(lines, try lines.layout())
        result.1.logWarnings(to: options.logger)
        return result
    }

    /// Finds the valid length and the torn tail by reading the end of the file.
    func layout() throws(DurableIOError) -> FileLayout {
        let size: Int64
        do { size = try fileSystem.fstat(fd).size } catch { throw .syscall("fstat", path: path, error) }
        var window = min(size, 64 * 1024)
        while true {
            let start = size - window
            let suffix = try read(at: start, count: Int(window))
            if let end = Self.validEnd(of: suffix, startsAtFileOffset: start == 0) {
                let validLength = start + Int64(end)
                guard validLength < size else { return FileLayout(fileSize: size, validLength: size, tornTail: nil) }
                let torn = suffix[end...]
                return FileLayout(
                    fileSize: size, validLength: validLength,
                    tornTail: TornTail(
                        byteOffset: validLength, byteCount: torn.count, isZeroFilled: !torn.contains { $0 != 0 }))
            }
            window = min(size, window * 4)
        }
    }

    /// Within the last bytes of a file, the end of the last complete, NUL-free line; `nil` when more is needed.
    private static func validEnd(of suffix: [UInt8], startsAtFileOffset isWholeFile: Bool) -> Int? {
        var end = suffix.count
        // Drop the segment after the last newline.
        guard let lastNewline = suffix.lastIndex(of: 0x0A) else { return isWholeFile ? 0 : nil }
        end = lastNewline + 1
        // Drop complete lines holding a NUL, from the end.
        while end > 0 {
            let lineEnd = end - 1  // index of its newline
            let previousNewline = suffix[..<lineEnd].lastIndex(of: 0x0A)
            let lineStart = previousNewline.map { $0 + 1 } ?? 0
            if previousNewline == nil && !isWholeFile { return nil }
            if suffix[lineStart..<lineEnd].contains(0) {
                end = lineStart
            } else {
                return end
            }
        }
        return 0
    }

    /// Reads `count` bytes at `offset` (fewer at the end of the file).
    func read(at offset: Int64, count: Int) throws(DurableIOError) -> [UInt8] {
        do { return try fileSystem.read(fd, upTo: count, at: offset) } catch { throw .syscall("read", path: path, error) }
    }

    /// Calls `body` with chunks of complete lines covering `[0, validLength)`, each with its file offset.
    func forEachChunk(
        upTo validLength: Int64, _ body: (UnsafeRawBufferPointer, Int64) throws(DurableIOError) -> Void
    ) throws(DurableIOError) {
        var offset: Int64 = 0
        var carry: [UInt8] = []
        while offset < validLength {
            let count = Int(min(Int64(Self.chunkSize), validLength - offset))
            var chunk = carry
            chunk.append(contentsOf: try read(at: offset, count: count))
            if chunk.count == carry.count { break }  // the file shrank under us
            offset += Int64(chunk.count - carry.count)
            let chunkStart = offset - Int64(chunk.count)
            guard let last = chunk.lastIndex(of: 0x0A) else {
                carry = chunk
                continue
            }
            try chunk.withUnsafeBytes { all in
                Result { () throws(DurableIOError) in try body(UnsafeRawBufferPointer(rebasing: all[...last]), chunkStart) }
            }.get()
            carry = Array(chunk[(last + 1)...])
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Calls `body` for each `\n`-terminated line (without its newline) and its offset within the buffer.
    @inline(__always)
    func forEachLine(_ body: (UnsafeRawBufferPointer, Int) throws(DurableIOError) -> Void) throws(DurableIOError) {
        var start = 0
        let n = count
        guard let base = baseAddress else { return }
        while start < n {
            guard let found = memchr(base + start, 0x0A, n - start) else { return }
            let end = base.distance(to: UnsafeRawPointer(found))
            try body(UnsafeRawBufferPointer(rebasing: self[start..<end]), start)
            start = end + 1
        }
    }
}
