import DurableIO
import Foundation
import SystemPackage

/// A fresh temporary directory, removed when the value is released.
final class TemporaryDirectory: @unchecked Sendable {
    let path: FilePath

    init() {
        let base = FileManager.default.temporaryDirectory.path
        let dir = "\(base)/durableio-test-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        path = FilePath(dir)
    }

    deinit { try? FileManager.default.removeItem(atPath: path.string) }

    func file(_ name: String) -> FilePath { path.appending(name) }

    var names: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path.string)) ?? []).sorted() }
}

func readFile(_ path: FilePath) -> [UInt8] {
    Array((try? Data(contentsOf: URL(fileURLWithPath: path.string))) ?? Data())
}

func readText(_ path: FilePath) -> String { String(decoding: readFile(path), as: UTF8.self) }

func writeRaw(_ bytes: [UInt8], to path: FilePath) {
    try! Data(bytes).write(to: URL(fileURLWithPath: path.string))
}

func writeRaw(_ text: String, to path: FilePath) { writeRaw(Array(text.utf8), to: path) }

func permissions(of path: FilePath) -> UInt16 {
    let attributes = try! FileManager.default.attributesOfItem(atPath: path.string)
    return UInt16((attributes[.posixPermissions] as! NSNumber).intValue)
}

struct Clip: Codable, Sendable, Equatable {
    var clip: String
    var frames: Int
}

/// This host's name as the seam gives it (what lock records hold).
func hostName() -> String { RealFileSystem().hostName() }

/// Runs `body` on a thread of its own, off the cooperative pool: on a busy 2-core machine a test's sleeps and polls
/// on the pool can resume seconds late (other tests' blocking calls hold both threads), and a child being watched
/// finishes before the test acts.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await DedicatedThread.run("test", body)
}

/// Creates an empty file at `path`, whose bytes need not be UTF-8.
/// Creates the empty file `name` (raw bytes) in `folder` with one `openat`, building no `FilePath` per file:
/// swift-system's path handling, compiled in debug (and under AddressSanitizer) for the tests, costs milliseconds
/// per append, which made the listing tests' thousands of files take minutes.
func createRaw(in folder: FileDescriptor, named name: [UInt8]) {
    let fd = (name + [0]).withUnsafeBufferPointer { bytes in
        bytes.withMemoryRebound(to: CChar.self) { openat(folder.rawValue, $0.baseAddress!, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644) }
    }
    precondition(fd >= 0, "cannot create \(name) in descriptor \(folder.rawValue): errno \(errno)")
    close(fd)
}

func createRaw(_ path: FilePath) {
    let fd = path.withPlatformString { open($0, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644) }
    precondition(fd >= 0, "cannot create \(path): errno \(errno)")
    close(fd)
}

extension LockOwner {
    /// Decodes a lock file's owner record (the library's decoder is internal).
    static func decodeForTests(_ bytes: [UInt8]) -> LockOwner? { try? JSONDecoder().decode(LockOwner.self, from: Data(bytes)) }
}
