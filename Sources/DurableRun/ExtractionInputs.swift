import DurableIO
import Foundation
import SystemPackage

/// The inputs of an extraction: the files under a directory (optionally matching a glob), or the lines of a
/// list file. Each input's key is its path as bytes — relative to the directory, or the line as written — so a
/// file name that is not UTF-8 keeps its exact bytes (see `RecordKey`); ``path(for:)`` turns a key back into
/// the file to read.
///
/// ```swift
/// let run = CheckpointedRun(output: "features.jsonl")
/// let inputs = try ExtractionInputs.directory("/data/clips", matching: "**/*.mp4").excludingState(of: run)
/// try inputs.requireSome()   // "--glob '**/*.mp4' matched 0 of 22,000 files under /data/clips …"
/// let report = try await run.run(inputs: inputs.keys) { key in try FileStats.row(for: inputs.path(for: key)) }
/// ```
public struct ExtractionInputs: Sendable {
    /// The keys, in a stable order (byte order for a directory, file order for a list).
    public var keys: [RecordKey]
    /// The directory the keys are relative to, or `nil` when keys are paths as listed.
    public var root: FilePath?
    /// The glob the directory's files were matched against, if any.
    public var pattern: String?
    /// Files found before the glob was applied (for a list: its non-empty lines).
    public var candidates: Int
    /// The list file, when the inputs came from one.
    public var listFile: FilePath?
    /// Inputs left out because they are the run's own output or state files (see ``excludingState(of:)``).
    public var excludedState: [RecordKey] = []

    /// Every regular file under `root`, recursively, whose path relative to `root` matches `pattern` (`nil`
    /// matches all). Hidden files and symbolic links are skipped.
    ///
    /// The pattern is matched against the whole relative path (`a/b/clip.mp4`), one folder at a time: in each
    /// part `fnmatch(3)` rules apply (`*`, `?`, `[…]`; `*` does not cross `/`), and a part that is exactly `**`
    /// matches any number of folders, none included — `**/*.mp4` matches every `.mp4` at any depth, `*.mp4` only
    /// those directly in `root`.
    ///
    /// - Throws: `DurableIOError.Code.systemCall` naming the directory that could not be read.
    public static func directory(
        _ root: FilePath, matching pattern: String? = nil, fileSystem: any FileSystem = RealFileSystem()
    ) throws(DurableIOError) -> ExtractionInputs {
        var keys: [RecordKey] = []
        var candidates = 0
        let glob = pattern.map(Glob.init)
        var stack: [[UInt8]] = [[]]
        while let relative = stack.popLast() {
            let directory = relative.isEmpty ? root : root.appending(Self.components(relative))
            let names: [FilePath.Component]
            do { names = try fileSystem.listDirectory(directory) } catch {
                throw DurableIOError.syscall("read directory", path: directory, error)
            }
            for name in names {
                let bytes = name.platformBytes
                guard bytes.first != UInt8(ascii: ".") else { continue }
                let path = relative.isEmpty ? bytes : relative + [UInt8(ascii: "/")] + bytes
                let status: FileStatus
                do { status = try fileSystem.stat(directory.appending(name), followSymlinks: false) } catch .noSuchFileOrDirectory {
                    continue  // removed while listing
                } catch {
                    throw DurableIOError.syscall("stat", path: directory.appending(name), error)
                }
                switch status.kind {
                case .directory: stack.append(path)
                case .regular:
                    candidates += 1
                    if glob?.matches(path) ?? true { keys.append(RecordKey(bytes: path)) }
                default: continue
                }
            }
        }
        return ExtractionInputs(keys: keys.sorted(), root: root, pattern: pattern, candidates: candidates)
    }

    /// The non-empty lines of the list file at `path`, each a path (relative paths are relative to the working
    /// directory of the process that reads the files).
    ///
    /// - Throws: `DurableIOError.Code.systemCall` when the list cannot be read.
    public static func list(at path: FilePath) throws(DurableIOError) -> ExtractionInputs {
        guard let data = FileManager.default.contents(atPath: path.string) else {
            throw DurableIOError(
                .invalidInput, operation: "read input list", path: path, message: "cannot read the input list",
                hint: "Check the path: one input path per line.")
        }
        let keys = data.withUnsafeBytes { Self.lines(of: $0) }
        return ExtractionInputs(keys: keys, root: nil, pattern: nil, candidates: keys.count, listFile: path)
    }

    /// The non-empty lines of `text` (a trailing `\r` dropped) as keys, in order, made (allocated and hashed) on
    /// several cores.
    static func lines(of text: UnsafeRawBufferPointer) -> [RecordKey] {
        ChunkParser.values(ofLinesIn: text) { line in
            let length = line.last == 0x0D ? line.count - 1 : line.count
            return length > 0 ? RecordKey(bytes: Array(UnsafeRawBufferPointer(rebasing: line[..<length]))) : nil
        }
    }

    /// The file an input's key names.
    public func path(for key: RecordKey) -> FilePath {
        let components = Self.components(key.bytes)
        if let root { return root.appending(components) }
        return FilePath(root: key.bytes.first == UInt8(ascii: "/") ? "/" : nil, components)
    }

    static func components(_ bytes: [UInt8]) -> [FilePath.Component] {
        bytes.split(separator: UInt8(ascii: "/")).map { FilePath.Component(platformBytes: Array($0)) }
    }
}
