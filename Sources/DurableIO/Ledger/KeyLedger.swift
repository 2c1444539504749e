import Foundation
import Synchronization
import SystemPackage

/// The `.done` checkpoint: a durable set of completed keys, one `{"key":"…"}` line each.
///
/// A ``Ledger`` specialised for the commonest case, with a fast recovery: lines are written in one canonical
/// shape and read back by a strict parser of exactly that shape on all cores (a 1,000,000-key ledger recovers
/// in a fraction of a second); any line it does not fully recognise goes to Foundation's `JSONDecoder`, so
/// correctness never depends on the fast path. Keys are bytes (``RecordKey``): equal only when byte-equal.
///
/// `insert` returns when the key is durable; concurrent inserts share syncs. Safe to use from many threads
/// and tasks.
///
/// ```swift
/// let done = try KeyLedger.open(at: "features.jsonl.done")
/// for clip in clips where !done.contains(RecordKey(clip)) {
///     try extract(clip)                      // its row is durable in staging first
///     try done.insert(RecordKey(clip))       // then its key: durable on return
/// }
/// ```
public final class KeyLedger: Sendable {
    /// The ledger's file.
    public let path: FilePath
    /// What opening found.
    public let recovery: RecoveryReport
    private let file: LedgerFile
    private let state: Mutex<RecordKeySet>

    private init(file: LedgerFile, keys: RecordKeySet, recovery: RecoveryReport) {
        self.path = file.path
        self.file = file
        self.recovery = recovery
        self.state = Mutex(keys)
    }

    deinit { try? file.close() }

    /// Opens (or creates) the key ledger at `path` for inserting, recovering its keys.
    ///
    /// - Throws: ``DurableIOError`` — `ledgerLocked`, `malformedLine` in strict mode, or a failing system call.
    public static func open(
        at path: FilePath, options: RecoveryOptions = RecoveryOptions(), fileSystem: any FileSystem = RealFileSystem()
    ) throws(DurableIOError) -> KeyLedger {
        try open(at: path, options: options, sharingKeysWith: nil, fileSystem: fileSystem)
    }

    /// ``open(at:options:fileSystem:)``, keeping `shared`'s instance of every recovered key it holds (a run's
    /// inputs): the ledger's set then costs a table slot per key, not another copy of the keys.
    package static func open(
        at path: FilePath, options: RecoveryOptions = RecoveryOptions(), sharingKeysWith shared: RecordKeySet?,
        fileSystem: any FileSystem = RealFileSystem()
    ) throws(DurableIOError) -> KeyLedger {
        let (file, keys, report) = try LedgerFile.open(at: path, fileSystem: fileSystem, options: options) {
            (lines, layout) throws(DurableIOError) in try load(lines, layout, options, sharingKeysWith: shared)
        }
        return KeyLedger(file: file, keys: keys, recovery: report)
    }

    /// Reads the keys of the ledger at `path` without locking or changing it.
    public static func recover(
        at path: FilePath, options: RecoveryOptions = RecoveryOptions(), fileSystem: any FileSystem = RealFileSystem()
    ) throws(DurableIOError) -> (keys: RecordKeySet, report: RecoveryReport) {
        let (keys, report) = try LineFile.recover(at: path, fileSystem: fileSystem, options: options, operation: "open ledger") {
            (lines, layout) throws(DurableIOError) in try load(lines, layout, options)
        }
        return (keys, report)
    }

    private static func load(
        _ lines: LineFile, _ layout: FileLayout, _ options: RecoveryOptions, sharingKeysWith shared: RecordKeySet? = nil
    ) throws(DurableIOError) -> (RecordKeySet, RecoveryReport) {
        let (keys, _, tally) = try ChunkParser.recoverKeys(
            lines, layout: layout, maxListed: options.maxListedMalformedLines,
            makeParser: {
                let decoder = JSONDecoder()
                guard let shared else { return { line in parseLine(line, decoder: decoder) } }
                return { line in parseLine(line, decoder: decoder).map { shared.member(equalTo: $0) ?? $0 } }
            })
        try tally.checkStrict(options, path: lines.path)
        return (keys, tally.report(path: lines.path, layout: layout))
    }

    private struct KeyLine: Codable { var key: RecordKey }
    private static let prefix: [UInt8] = Array(#"{"key":"#.utf8)

    /// The fast path for `{"key":"…"}`, else Foundation.
    static func parseLine(_ line: UnsafeRawBufferPointer, decoder: JSONDecoder) -> Result<RecordKey, LineRejection> {
        if let key = fastParse(line) { return .success(key) }
        do {
            return .success(try decoder.decode(KeyLine.self, from: Data(line)).key)
        } catch {
            return .failure(LineRejection(reason: "not a key line (\(Ledger<KeyLine>.summary(of: error)))"))
        }
    }

    /// Parses exactly `{"key":"<JSON string>"}`; `nil` declines.
    static func fastParse(_ line: UnsafeRawBufferPointer) -> RecordKey? {
        let n = line.count
        guard n >= prefix.count + 3, line[n - 1] == UInt8(ascii: "}") else { return nil }
        for i in 0..<prefix.count where line[i] != prefix[i] { return nil }
        guard let (bytes, next) = CanonicalJSON.parseString(line, from: prefix.count, end: n - 1), next == n - 1 else {
            return nil
        }
        return RecordKey(bytes: bytes)
    }

    /// The line for `key`.
    static func line(for key: RecordKey) -> [UInt8] {
        var bytes = prefix
        bytes += key.jsonBytes
        bytes.append(UInt8(ascii: "}"))
        bytes.append(0x0A)
        return bytes
    }

    /// Atomically replaces the ledger at `path` with exactly `keys` (in byte order): the operator's repair after a
    /// loss, dropping keys whose rows are missing so the next run re-creates them. It holds the ledger's writer
    /// lock while it replaces the file, so it refuses (``DurableIOError/Code/ledgerLocked``) while a run has the
    /// ledger open.
    ///
    /// - Returns: what the replace did. A crash leaves the old ledger or the new one, never a mix.
    @discardableResult
    public static func replace(
        at path: FilePath, with keys: some Sequence<RecordKey>, fileSystem: any FileSystem = RealFileSystem()
    ) throws -> AtomicFile.Result {
        try LedgerFile.withWriterLock(path, fileSystem: fileSystem, operation: "replace ledger") {
            try AtomicFile.write(to: path, fileSystem: fileSystem) { writer in
                for key in keys.sorted() { try writer.write(line(for: key)) }
            }
        }
    }

    /// How many keys the ledger holds.
    public var count: Int { state.withLock { $0.count } }

    /// Whether `key` is durable in the ledger.
    public func contains(_ key: RecordKey) -> Bool { state.withLock { $0.contains(key) } }

    /// A copy of the keys.
    public var keys: RecordKeySet { state.withLock { $0 } }

    /// Makes `key` durable in the ledger.
    ///
    /// - Returns: `false` when it was already there (nothing written), `true` once it is durable.
    /// - Throws: the failed write or sync; the key is then not in the set, and the ledger is poisoned.
    @discardableResult
    public func insert(_ key: RecordKey) throws -> Bool {
        if contains(key) { return false }
        try file.append(Self.line(for: key))
        state.withLock { _ = $0.insert(key) }
        return true
    }

    /// Makes `key` durable, suspending (not blocking the pool) while its sync, shared with others, runs.
    @discardableResult
    public func insert(_ key: RecordKey) async throws -> Bool {
        if contains(key) { return false }
        try await file.appendAsync(Self.line(for: key))
        state.withLock { _ = $0.insert(key) }
        return true
    }

    /// Makes every new key of `keys` durable with one write and one sync.
    ///
    /// - Returns: how many keys were new.
    @discardableResult
    public func insert(contentsOf keys: some Sequence<RecordKey>) throws -> Int {
        var fresh: [RecordKey] = []
        var seen = RecordKeySet()
        state.withLock { set in
            for key in keys where !set.contains(key) && seen.insert(key) { fresh.append(key) }
        }
        guard !fresh.isEmpty else { return 0 }
        try file.append(fresh.flatMap { Self.line(for: $0) })
        state.withLock { set in for key in fresh { set.insert(key) } }
        return fresh.count
    }

    /// Waits for inserts in flight and closes the file, releasing the writer lock.
    public func close() throws(DurableIOError) { try file.close() }
}
