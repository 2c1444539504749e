import DurableIO
import Synchronization
import SystemPackage

/// An in-memory file system behind DurableIO's seam that knows what a power cut can take away.
///
/// It keeps two views: what the running process sees, and what is durable. File data becomes durable at
/// `fsync` / `fdatasync` of the file; a name (create, rename, link, unlink, mkdir) becomes durable at `fsync` of
/// its directory. At a crash point ``crashStates(limit:seed:)`` lists the states a power cut may leave:
/// - per file, the unsynced writes are lost wholly or partly — a prefix of them, the last one cut at a page
///   boundary — or the file's size reached disk before its data and the unsynced range reads back as zeros
///   (the NUL tail of XFS and ext4 `data=writeback`);
/// - per directory, a prefix of the namespace operations since its last fsync survived, so a rename is atomic
///   (the name refers to the old file or the new one, never to neither unless the new one was never durable);
/// - every combination across files and directories (sampled when they are too many).
///
/// Faults: `EIO` on `fsync` drops the dirty data for good (as Linux does) and reports the error; `ENOSPC` and
/// short writes on `write`. ``Mutation``s turn a guarantee off through the seam, to prove the harness notices.
/// `flock` works between descriptors of this one process; there are no symbolic links.
///
/// ```swift
/// let fs = SimulatedFileSystem()
/// try fs.createDirectory("/data")
/// try AtomicFile.write("v1", to: "/data/config", fileSystem: fs)
/// let states = fs.crashStates(limit: 100, seed: 1)   // what a power cut right now could leave
/// ```
public final class SimulatedFileSystem: FileSystem, @unchecked Sendable {
    /// A way to break a guarantee on purpose, to show the crash harness catches it.
    public enum Mutation: Hashable, Sendable {
        /// `fsync` of a directory does nothing (names never become durable by it).
        case ignoreDirectoryFsync
        /// `fsync` / `fdatasync` of files whose path contains this text does nothing.
        case ignoreFileFsync(pathContaining: String)
        /// `ftruncate` does nothing.
        case ignoreTruncate
        /// `fsync` loses the dirty data (as after `EIO`) but reports success: an ignored fsync error.
        case fsyncFailsSilently
    }

    /// Bytes of a page: partial writes are cut at multiples of it.
    public let pageSize: Int
    /// The mutations in force.
    public let mutations: Set<Mutation>

    enum PendingData: Sendable {
        case write(offset: Int, bytes: [UInt8])
        case truncate(length: Int)
    }

    struct Node: Sendable {
        var isDirectory: Bool
        var data: [UInt8] = []
        var durable: [UInt8] = []
        var pending: [PendingData] = []
        var mode: UInt16 = 0o644
        var mtime: Double = 0
    }

    struct NamespaceOp: Sendable {
        var name: FilePath.Component
        var inode: UInt64?  // nil: removed
    }

    struct OpenFile: Sendable {
        var inode: UInt64
        var path: FilePath
        var offset: Int
        var append: Bool
    }

    struct State: Sendable {
        var nodes: [UInt64: Node] = [:]
        var entries: [UInt64: [FilePath.Component: UInt64]] = [:]  // directory inode → names
        var durableEntries: [UInt64: [FilePath.Component: UInt64]] = [:]
        var pendingNames: [UInt64: [NamespaceOp]] = [:]
        var files: [Int32: OpenFile] = [:]
        var locks: [UInt64: (exclusive: Int32?, shared: Set<Int32>)] = [:]
        var nextInode: UInt64 = 2
        var nextFD: Int32 = 100
        var clock: Double = 1_700_000_000
        var trace: [String] = []
        var operations = 0
        var freezeAfter: Int?
        var faults: [Fault] = []
        var rebooted = false
    }

    let state: Mutex<State>
    static let root: UInt64 = 1

    /// An empty file system with a root directory.
    public init(pageSize: Int = 4096, mutations: Set<Mutation> = []) {
        self.pageSize = pageSize
        self.mutations = mutations
        var initial = State()
        initial.nodes[Self.root] = Node(isDirectory: true)
        initial.entries[Self.root] = [:]
        initial.durableEntries[Self.root] = [:]
        state = Mutex(initial)
    }

    init(pageSize: Int, mutations: Set<Mutation>, rebootedFrom state: State) {
        self.pageSize = pageSize
        self.mutations = mutations
        self.state = Mutex(state)
    }

    // MARK: Test controls

    /// Creates a directory (and its parents) and makes everything so far durable.
    public func createDirectory(_ path: FilePath) throws {
        var partial = FilePath("/")
        for component in path.lexicallyNormalized().components {
            partial.append(component)
            if try !exists(partial) { try mkdir(partial, permissions: FilePermissions(rawValue: 0o755)) }
        }
        syncEverything()
    }

    /// Makes every write and name durable (as after a clean `sync`).
    public func syncEverything() {
        state.withLock { s in
            for (id, node) in s.nodes {
                s.nodes[id]!.durable = node.data
                s.nodes[id]!.pending = []
            }
            s.durableEntries = s.entries
            s.pendingNames = [:]
        }
    }

    /// From now on, after `operations` more calls every call fails without effect: the process died there.
    public func freeze(afterOperations operations: Int) {
        state.withLock { $0.freezeAfter = $0.operations + operations }
    }

    /// Calls made so far.
    public var operationCount: Int { state.withLock { $0.operations } }

    /// The calls made so far, described.
    public var trace: [String] { state.withLock { $0.trace } }

    /// Adds a fault (see ``Fault``): `EIO` on `fsync` also drops the dirty data.
    public func inject(_ fault: Fault) { state.withLock { $0.faults.append(fault) } }

    /// The current content of the file at `path`, or `nil`.
    public func contents(of path: FilePath) -> [UInt8]? {
        state.withLock { s in (try? Self.lookup(path, in: s)).flatMap { s.nodes[$0]?.data } }
    }

    /// The names now in the directory at `path`.
    public func names(in path: FilePath) -> [String] {
        state.withLock { s in
            guard let dir = try? Self.lookup(path, in: s), let entries = s.entries[dir] else { return [] }
            return entries.keys.map(\.string).sorted()
        }
    }

    // MARK: Bookkeeping

    /// Counts a call and records it; throws `EIO` (with no effect) once frozen, or the injected fault.
    func enter(_ s: inout State, _ operation: SyscallRecord.Operation, _ path: FilePath?) throws(Errno) -> Fault.Action? {
        if let limit = s.freezeAfter, s.operations >= limit { throw .ioError }
        s.operations += 1
        s.clock += 0.001
        s.trace.append("\(operation.rawValue) \(path.map { "\($0)" } ?? "?")")
        return s.faults.fire(operation, path)
    }

    /// Parsing paths is the simulator's hot spot (a harness run makes hundreds of thousands of calls on a few
    /// paths): remember each path's components. A pure function of the path, so one memo serves every instance.
    private static let parsed = Mutex<[FilePath: [FilePath.Component]]>([:])

    static func components(_ path: FilePath) -> [FilePath.Component] {
        if let known = parsed.withLock({ $0[path] }) { return known }
        let components = Array(path.lexicallyNormalized().components)
        parsed.withLock { $0[path] = components }
        return components
    }

    static func split(_ path: FilePath) -> (FilePath, FilePath.Component)? {
        let parts = components(path)
        guard let name = parts.last else { return nil }
        return (FilePath(root: "/", parts.dropLast()), name)
    }

    static func lookup(_ path: FilePath, in s: State) throws(Errno) -> UInt64 {
        var current = root
        for component in components(path) {
            guard s.nodes[current]?.isDirectory == true else { throw .notDirectory }
            guard let next = s.entries[current]?[component] else { throw .noSuchFileOrDirectory }
            current = next
        }
        return current
    }

    static func setName(_ s: inout State, dir: UInt64, _ name: FilePath.Component, _ inode: UInt64?) {
        s.entries[dir, default: [:]][name] = inode
        s.pendingNames[dir, default: []].append(NamespaceOp(name: name, inode: inode))
    }

    func openFile(_ s: State, _ fd: FileDescriptor) throws(Errno) -> OpenFile {
        guard let file = s.files[fd.rawValue] else { throw .badFileDescriptor }
        return file
    }
}
