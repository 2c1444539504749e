import DurableIO
import Foundation
import SystemPackage
import Testing

/// `RealFileSystem.listDirectory` on real directories: names come back as their exact bytes, whatever they are,
/// and reading records of every length never reads past one.
@Suite("RealFileSystem.listDirectory", .ownThreads, .inATestSlot)
struct DirectoryListingTests {
    let dir = TemporaryDirectory()

    static let oddNames: [[UInt8]] = [
        Array("x".utf8) + [0xFF] + Array(".txt".utf8),  // not UTF-8 …
        Array("x\u{FFFD}.txt".utf8),  // … and its U+FFFD twin
        Array("caf\u{E9}".utf8),  // NFC …
        Array("cafe\u{301}".utf8),  // … and NFD: equal as Strings, distinct files
        Array("-rf".utf8), Array("--help".utf8), Array("-".utf8),  // leading dashes
        Array("line\nbreak".utf8), Array("tab\tand space ".utf8), Array("\r".utf8),
        Array("...".utf8), Array("..x".utf8), Array(".hidden".utf8),
        [0x80, 0x81, 0xC0, 0xC1, 0xF5],  // no valid UTF-8 at all
        Array(repeating: UInt8(ascii: "l"), count: 255),  // the longest name
        Array("a".utf8),
    ]

    @Test("Odd names come back as their exact bytes: non-UTF-8, U+FFFD and NFC/NFD twins, dashes, newlines; no . or ..")
    func oddNamesExactBytes() throws {
        for name in Self.oddNames { createRaw(dir.path.appending(FilePath.Component(platformBytes: name))) }
        let listed = try RealFileSystem().listDirectory(dir.path).map(\.platformBytes)
        #expect(listed.count == Self.oddNames.count, "\(listed.count) names")
        #expect(Set(listed) == Set(Self.oddNames))
    }

    @Test("Directories larger than readdir's buffer (32 KB of records), of odd names of every length: every name exact (under AddressSanitizer in CI: no read past a record)")
    func largerThanTheReaddirBuffer() async throws {
        // A read past a short record leaves the buffer only when that record is the buffer's last; with more than
        // 32 KB of records the buffer fills, and its last record varies with the name lengths. Several folders, so
        // the last record has several sizes.
        let root = dir.path
        let wrong = try await offPool { () -> [String] in
            let fileSystem = RealFileSystem()
            var wrong: [String] = []
            for folderIndex in 0..<4 {
                let folder = root.appending("folder-\(folderIndex)-" + String(repeating: "n", count: folderIndex * 37))
                try FileManager.default.createDirectory(atPath: folder.string, withIntermediateDirectories: false)
                var names = Set(Self.oddNames)
                for i in 0..<1_100 {
                    names.insert(Array("clip_\(i)_".utf8) + Array(repeating: UInt8(ascii: "z"), count: (i * 7 + folderIndex) % 200))
                }
                let folderDescriptor = try FileDescriptor.open(folder, .readOnly, options: [.directory, .closeOnExec])
                defer { try? folderDescriptor.close() }
                for name in names { createRaw(in: folderDescriptor, named: name) }
                let listed = try fileSystem.listDirectory(folder).map(\.platformBytes)
                if listed.count != names.count || Set(listed) != names { wrong.append("\(folder.lastComponent!): \(listed.count) of \(names.count)") }
            }
            return wrong
        }
        #expect(wrong.isEmpty, "\(wrong)")
    }

    @Test("Directories whose names have every length from 1 to 255, listed again and again: every name exact")
    func everyNameLength() async throws {
        // Each directory gets one name length, so the last record of readdir's buffer has every size once. Off the
        // cooperative pool: the debug build lists slowly (swift-system's debug-only checks), and a test holding a
        // pool thread for a minute starves the others' deadlines.
        let root = dir.path
        let wrong = try await offPool { () -> [Int] in
            let fileSystem = RealFileSystem()
            var wrong: [Int] = []
            for length in stride(from: 1, through: 255, by: 1) {
                let folder = root.appending("len-\(length)")
                try FileManager.default.createDirectory(atPath: folder.string, withIntermediateDirectories: false)
                let names = (0..<(length % 13 + 1)).map { i -> [UInt8] in
                    Array(String(format: "%02d", i).utf8) + Array(repeating: UInt8(ascii: "z"), count: max(0, length - 2))
                }
                let folderDescriptor = try FileDescriptor.open(folder, .readOnly, options: [.directory, .closeOnExec])
                defer { try? folderDescriptor.close() }
                for name in names { createRaw(in: folderDescriptor, named: Array(name.prefix(255))) }
                for _ in 0..<2 {
                    let listed = try fileSystem.listDirectory(folder).map(\.platformBytes)
                    if Set(listed) != Set(names.map { Array($0.prefix(255)) }) { wrong.append(length) }
                }
            }
            return wrong
        }
        #expect(wrong.isEmpty, "name lengths listed wrong: \(wrong)")
    }
}
