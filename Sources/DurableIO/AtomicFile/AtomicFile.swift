import Foundation
import Synchronization
import Logging
import SystemPackage

/// Replaces a file's content so that a reader, or a crash at any instant, sees the complete old content or the
/// complete new content — and when the call returns, the new content is durable.
///
/// The steps, each named in the error if it fails: create a temporary file beside the target
/// (`.<name>.durable-tmp-<pid>-<random>`, `O_EXCL`, close-on-exec) with explicit permissions, **write**,
/// **fsync** the file, close, **rename** it over the target, **directory fsync**. When `write` returns, the
/// new content and the name pointing at it are on stable storage. If it throws before the rename, the target is
/// untouched and the temporary file is removed; if the directory fsync fails, the new content is in place but
/// its name may not survive a power cut, and the error says so. A failed fsync is never retried.
///
/// Better than the usual ways: Foundation's `Data.write(options: .atomic)` never fsyncs the directory (the
/// rename can vanish on power loss), skips the fsync for empty data, needs the content in memory and falls
/// back to a non-atomic write on `EBUSY`; swift-nio's transactional creation unlinks the old name first and
/// syncs nothing.
///
/// ```swift
/// try AtomicFile.write("v2\n", to: "settings.txt")
/// try AtomicFile.writeJSON(manifest, to: "manifest.json")
/// try AtomicFile.write(to: "big.jsonl") { writer in       // streaming: far larger than memory
///     for row in rows { try writer.write(row) }
/// }
/// ```
public enum AtomicFile {
    /// What to do when the directory cannot be fsync'd (`EINVAL` on some FUSE and network file systems).
    public enum DirectorySync: Sendable {
        /// Throw ``DurableIOError/Code/directorySyncUnsupported`` (the default).
        case required
        /// Log one warning and report the degraded durability in ``Result/directorySynced``.
        case bestEffort
    }

    /// Options of a replace.
    public struct Options: Sendable {
        /// The new file's permissions; `nil` keeps the existing target's, or uses 0644 for a new file.
        public var permissions: FilePermissions?
        /// Required (default) or best-effort directory fsync.
        public var directorySync: DirectorySync
        /// Where the best-effort warning goes.
        public var logger: Logger

        /// Creates options.
        public init(
            permissions: FilePermissions? = nil, directorySync: DirectorySync = .required,
            logger: Logger = Logger(label: "DurableIO.AtomicFile")
        ) {
            self.permissions = permissions
            self.directorySync = directorySync
            self.logger = logger
        }
    }

    /// What a replace did.
    public struct Result: Sendable, Equatable {
        /// The target.
        public var path: FilePath
        /// Bytes in the new content.
        public var bytesWritten: Int64
        /// `false` only with ``DirectorySync/bestEffort`` on a file system that cannot fsync a directory: the
        /// content is durable, its name may not be.
        public var directorySynced: Bool
    }

    /// The infix that marks DurableIO's temporary files: `.<name>.durable-tmp-<pid>-<random>`.
    static let tempMarker = ".durable-tmp-"

    /// Replaces the content at `path` with what `body` writes, streaming.
    ///
    /// - Parameters:
    ///   - path: the target; its directory must exist.
    ///   - options: permissions and directory-sync policy.
    ///   - fileSystem: the seam (default: the real one).
    ///   - body: writes the content through the ``Writer``; throwing aborts the replace, leaving the old content.
    /// - Returns: what was written, and whether the directory was synced.
    /// - Throws: ``DurableIOError`` naming the step (`write`, `fsync`, `rename`, `directory fsync`), or what `body` threw.
    @discardableResult
    public static func write(
        to path: FilePath, options: Options = Options(), fileSystem: any FileSystem = RealFileSystem(),
        _ body: (inout Writer) throws -> Void
    ) throws -> Result {
        guard let name = path.lastComponent else {
            throw DurableIOError(.invalidInput, operation: "atomic write", path: path, message: "the path has no file name")
        }
        let directory = path.parentDirectory
        let permissions: FilePermissions
        if let explicit = options.permissions {
            permissions = explicit
        } else if let existing = try? fileSystem.stat(path, followSymlinks: true) {
            permissions = existing.permissions
        } else {
            permissions = FilePermissions(rawValue: 0o644)
        }

        let (tempPath, fd) = try createTemporary(beside: directory, name: name, permissions: permissions, fileSystem: fileSystem)
        var writer = Writer(fileSystem: fileSystem, fd: fd, path: tempPath)
        do {
            do { try fileSystem.setPermissions(fd, permissions) } catch { throw DurableIOError.syscall("fchmod", path: tempPath, error) }
            try body(&writer)
            try writer.flush()
            do { try fileSystem.fsync(fd) } catch {
                throw DurableIOError.syscall("fsync", path: tempPath, error, hint: "The target \(path) was not changed.")
            }
        } catch {
            try? fileSystem.close(fd)
            try? fileSystem.unlink(tempPath)
            throw error
        }
        do { try fileSystem.close(fd) } catch {
            try? fileSystem.unlink(tempPath)
            throw DurableIOError.syscall("close", path: tempPath, error)
        }
        do { try fileSystem.rename(tempPath, to: path) } catch {
            try? fileSystem.unlink(tempPath)
            throw DurableIOError.syscall("rename", path: path, error, hint: "The target was not changed.")
        }
        let synced = try syncDirectory(directory, of: path, options: options, fileSystem: fileSystem)
        return Result(path: path, bytesWritten: writer.bytesWritten, directorySynced: synced)
    }

    /// Replaces the content at `path` with `bytes`. See ``write(to:options:fileSystem:_:)``.
    @discardableResult
    public static func write(
        _ bytes: some Collection<UInt8>, to path: FilePath, options: Options = Options(),
        fileSystem: any FileSystem = RealFileSystem()
    ) throws -> Result {
        try write(to: path, options: options, fileSystem: fileSystem) { try $0.write(bytes) }
    }

    /// Replaces the content at `path` with the UTF-8 bytes of `string`.
    @discardableResult
    public static func write(
        _ string: String, to path: FilePath, options: Options = Options(), fileSystem: any FileSystem = RealFileSystem()
    ) throws -> Result {
        try write(Array(string.utf8), to: path, options: options, fileSystem: fileSystem)
    }

    /// Replaces the content at `path` with `value` encoded as JSON.
    @discardableResult
    public static func writeJSON(
        _ value: some Encodable, to path: FilePath, encoder: JSONEncoder = JSONEncoder(), options: Options = Options(),
        fileSystem: any FileSystem = RealFileSystem()
    ) throws -> Result {
        let data = try encoder.encode(value)
        return try write(data, to: path, options: options, fileSystem: fileSystem)
    }

    /// Removes the temporary files a crashed replace left beside `path`, and fsyncs the directory.
    ///
    /// Only files whose name carries DurableIO's marker for this target are considered, and of those only stale
    /// ones are removed: the pid in the name is not alive on this host, or it is alive but started after the file
    /// was last written (the pid was reused, typically after a reboot: a power cut's leftovers). A replace in
    /// progress in a live process keeps its file.
    ///
    /// - Returns: the paths removed.
    @discardableResult
    public static func removeLeftovers(beside path: FilePath, fileSystem: any FileSystem = RealFileSystem()) throws
        -> [FilePath]
    {
        guard let name = path.lastComponent else { return [] }
        let directory = path.parentDirectory
        let prefix = [UInt8(ascii: ".")] + name.platformBytes + Array(tempMarker.utf8)
        let entries: [FilePath.Component]
        do { entries = try fileSystem.listDirectory(directory) } catch {
            throw DurableIOError.syscall("list directory", path: directory, error)
        }
        var removed: [FilePath] = []
        for entry in entries {
            let bytes = entry.platformBytes
            guard bytes.starts(with: prefix) else { continue }
            let rest = bytes.dropFirst(prefix.count)
            let pidDigits = rest.prefix { $0 != UInt8(ascii: "-") }
            if let pid = Int32(String(decoding: pidDigits, as: UTF8.self)), fileSystem.isProcessAlive(pid),
                !isReused(pid, since: directory.appending(entry), fileSystem: fileSystem)
            {
                continue
            }
            let leftover = directory.appending(entry)
            do { try fileSystem.unlink(leftover) } catch {
                if error == .noSuchFileOrDirectory { continue }
                throw DurableIOError.syscall("unlink", path: leftover, error)
            }
            removed.append(leftover)
        }
        if !removed.isEmpty {
            do { try fileSystem.syncDirectory(directory) } catch {
                throw DurableIOError.syscall("directory fsync", path: directory, error)
            }
        }
        return removed
    }

    /// Whether the live process `pid` started after the file at `path` was last written (so it did not write
    /// it); `false` when either time is unknown.
    private static func isReused(_ pid: Int32, since path: FilePath, fileSystem: any FileSystem) -> Bool {
        guard let started = fileSystem.processStartTime(pid), let status = try? fileSystem.stat(path, followSymlinks: false)
        else { return false }
        let written = Double(status.modificationSeconds) + Double(status.modificationNanoseconds) / 1e9
        return started > written + 2  // the start time is known to about a second
    }

    // MARK: Steps

    private static func createTemporary(
        beside directory: FilePath, name: FilePath.Component, permissions: FilePermissions, fileSystem: any FileSystem
    ) throws(DurableIOError) -> (FilePath, FileDescriptor) {
        let pid = ProcessInfo.processInfo.processIdentifier
        for _ in 0..<16 {
            let random = String(UInt32.random(in: .min ... .max), radix: 16)
            let tempName = FilePath.Component(
                platformBytes: [UInt8(ascii: ".")] + name.platformBytes + Array("\(tempMarker)\(pid)-\(random)".utf8))
            let tempPath = directory.appending(tempName)
            do {
                let fd = try fileSystem.open(
                    tempPath, .writeOnly, options: [.create, .exclusiveCreate, .noFollow], permissions: permissions)
                return (tempPath, fd)
            } catch .fileExists {
                continue
            } catch {
                throw DurableIOError.syscall("create temporary file", path: tempPath, error)
            }
        }
        throw DurableIOError(.systemCall, operation: "create temporary file", path: directory, message: "16 random names were all taken")
    }

    private static func syncDirectory(
        _ directory: FilePath, of path: FilePath, options: Options, fileSystem: any FileSystem
    ) throws(DurableIOError) -> Bool {
        do {
            try fileSystem.syncDirectory(directory)
            return true
        } catch .invalidArgument {
            guard options.directorySync == .bestEffort else {
                throw DurableIOError(
                    .directorySyncUnsupported, operation: "directory fsync", path: directory, errno: .invalidArgument,
                    message: "this file system cannot fsync a directory; \(path) holds the new content but the rename may not survive a power cut",
                    hint: "Use a local file system, or pass directorySync: .bestEffort to accept the weaker guarantee.")
            }
            DirectorySyncWarning.once(options.logger, directory: directory)
            return false
        } catch {
            throw DurableIOError.syscall(
                "directory fsync", path: directory, error,
                hint: "\(path) holds the new content, but the rename may not survive a power cut.")
        }
    }
}

/// Logs the best-effort directory-sync warning once per process.
enum DirectorySyncWarning {
    private static let warned = Mutex(false)

    static func once(_ logger: Logger, directory: FilePath) {
        let first = warned.withLock { (done: inout Bool) -> Bool in
            defer { done = true }
            return !done
        }
        if first {
            logger.warning(
                "directory fsync is not supported here; renames may not survive a power cut (best effort)",
                metadata: ["directory": "\(directory)"])
        }
    }
}
