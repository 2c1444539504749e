import Foundation
import SystemPackage

extension FileSystem {
    /// Writes every byte of `bytes`, completing short writes with further calls.
    ///
    /// - Returns: the number of bytes written, always `bytes.count`.
    /// - Throws: the `Errno` of the first failing call. Bytes written before it stay written.
    @discardableResult
    public func writeAll(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        var offset = 0
        while offset < bytes.count {
            let n = try write(fd, UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            if n <= 0 { throw Errno.ioError }
            offset += n
        }
        return offset
    }

    /// Writes every byte of `bytes`, completing short writes with further calls.
    @discardableResult
    public func writeAll(_ fd: FileDescriptor, _ bytes: [UInt8]) throws(Errno) -> Int {
        try bytes.withUnsafeBytes { buffer in Result { () throws(Errno) in try writeAll(fd, buffer) } }.get()
    }

    /// A non-blocking `flock` that allows a quarter of a second for a holder that is about to let go.
    ///
    /// Between `fork` and `exec`, a child process briefly shares every open file description of its parent —
    /// close-on-exec only closes them at `exec` — so a lock its parent just released by `close` can look held for
    /// a moment while any thread of the process starts a child (50 ms was not enough at a load average of 20). A
    /// real holder holds for far longer than this, and is still refused.
    func flockAllowingHandover(_ fd: FileDescriptor, _ operation: FileLockOperation) throws(Errno) {
        let deadline = ContinuousClock.now + .milliseconds(250)
        while true {
            do {
                try flock(fd, operation)
                return
            } catch .wouldBlock where ContinuousClock.now < deadline {
                usleep(5_000)
            }
        }
    }

    /// Opens `directory` and fsyncs it, making the names created, renamed or removed in it durable.
    package func syncDirectory(_ directory: FilePath) throws(Errno) { try sync(directory, options: [.directory]) }

    /// Opens `path` read-only and fsyncs it: a file's data made durable where it is, without writing it.
    package func sync(_ path: FilePath, options: FileDescriptor.OpenOptions = []) throws(Errno) {
        let fd = try open(path, .readOnly, options: options, permissions: nil)
        do {
            try fsync(fd)
        } catch {
            try? close(fd)
            throw error
        }
        try close(fd)
    }

    /// Whether something exists at `path` (without following a final symbolic link).
    ///
    /// - Throws: any error but `ENOENT`: an unreadable directory or a failing disk is not "absent".
    public func exists(_ path: FilePath) throws(Errno) -> Bool {
        do {
            _ = try stat(path, followSymlinks: false)
            return true
        } catch .noSuchFileOrDirectory {
            return false
        }
    }

    /// Whether something exists at `path`, as ``exists(_:)`` says, with a failing `stat` reported as the
    /// ``DurableIOError`` of that call: an unreadable directory or a failing disk is never "absent".
    ///
    /// ```swift
    /// guard try fileSystem.isPresent(staging) else { return .empty }
    /// ```
    package func isPresent(_ path: FilePath) throws(DurableIOError) -> Bool {
        do { return try exists(path) } catch { throw DurableIOError.syscall("stat", path: path, error) }
    }
}

extension FilePath {
    /// The directory holding this path: its parent, or `.` for a bare name.
    package var parentDirectory: FilePath {
        let parent = removingLastComponent()
        return parent.isEmpty ? "." : parent
    }

    /// This path with `suffix` appended to its last component (`out.jsonl` → `out.jsonl.lock`).
    package func appendingToName(_ suffix: String) -> FilePath {
        var copy = self
        guard let last = copy.lastComponent else { return FilePath(suffix) }
        copy.removeLastComponent()
        var raw = last.platformBytes
        raw.append(contentsOf: Array(suffix.utf8))
        let name = FilePath.Component(platformBytes: raw)
        copy.append(name)
        return copy
    }
}

extension FilePath.Component {
    /// A component from raw bytes (no NUL, no `/`).
    package init(platformBytes bytes: [UInt8]) {
        let chars = bytes.map { CInterop.PlatformChar(bitPattern: $0) } + [0]
        self = chars.withUnsafeBufferPointer { FilePath.Component(platformString: $0.baseAddress!)! }
    }

    /// The raw bytes of this component.
    package var platformBytes: [UInt8] {
        withPlatformString { p in
            var bytes: [UInt8] = []
            var i = 0
            while p[i] != 0 {
                bytes.append(UInt8(bitPattern: p[i]))
                i += 1
            }
            return bytes
        }
    }
}
