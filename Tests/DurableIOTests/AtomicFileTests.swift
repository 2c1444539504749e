import DurableIO
import DurableIOTesting
import Foundation
import SystemPackage
import Synchronization
import Testing

@Suite("Atomic file replace", .ownThreads, .inATestSlot)
struct AtomicFileTests {
    @Test func replacesContentAndLeavesNoTemporaryFile() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("out.json")
        writeRaw("old", to: target)
        let result = try AtomicFile.write("new content", to: target)
        #expect(readText(target) == "new content")
        #expect(result.bytesWritten == 11)
        #expect(result.directorySynced)
        #expect(dir.names == ["out.json"])
    }

    @Test func streamingWriterHandlesContentLargerThanItsBuffer() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("big.jsonl")
        let line = Array(repeating: UInt8(ascii: "x"), count: 1000) + [0x0A]
        try AtomicFile.write(to: target) { writer in
            for _ in 0..<2000 { try writer.write(line) }
            try writer.write(Array(repeating: UInt8(ascii: "y"), count: 600_000))
        }
        let bytes = readFile(target)
        #expect(bytes.count == 2000 * 1001 + 600_000)
        #expect(bytes.suffix(1) == [UInt8(ascii: "y")])
    }

    @Test func encodesJSON() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("clip.json")
        try AtomicFile.writeJSON(Clip(clip: "a", frames: 3), to: target)
        #expect(try JSONDecoder().decode(Clip.self, from: Data(readFile(target))) == Clip(clip: "a", frames: 3))
    }

    @Test func permissionsAreExplicitOrKeptFromTheTarget() throws {
        let dir = TemporaryDirectory()
        let fresh = dir.file("fresh")
        try AtomicFile.write("x", to: fresh)
        #expect(permissions(of: fresh) == 0o644)

        let explicit = dir.file("explicit")
        try AtomicFile.write("x", to: explicit, options: .init(permissions: FilePermissions(rawValue: 0o666)))
        #expect(permissions(of: explicit) == 0o666, "the creation mask must not apply to explicit permissions")

        let kept = dir.file("kept")
        writeRaw("old", to: kept)
        chmod(kept.string, 0o600)
        try AtomicFile.write("new", to: kept)
        #expect(permissions(of: kept) == 0o600)
    }

    @Test func aConcurrentReaderSeesOldOrNewContentNeverAPartialFile() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("flip")
        let a = String(repeating: "A", count: 300_000)
        let b = String(repeating: "B", count: 200_000)
        try AtomicFile.write(a, to: target)
        let reads = Atomic<Int>(0)
        let bad = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let reader = Thread {
            while !stop.load(ordering: .relaxed) {
                let text = readText(target)
                if text != a && text != b { bad.add(1, ordering: .relaxed) }
                reads.add(1, ordering: .relaxed)
            }
        }
        reader.start()
        var writes = 0
        while writes < 60 || (reads.load(ordering: .relaxed) < 100 && writes < 5000) {
            try AtomicFile.write(writes % 2 == 0 ? b : a, to: target)
            writes += 1
        }
        stop.store(true, ordering: .relaxed)
        #expect(bad.load(ordering: .relaxed) == 0)
        #expect(reads.load(ordering: .relaxed) >= 100)
    }

    @Test func syscallOrderIsWriteFsyncRenameDirectoryFsync() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("out")
        let fs = FaultInjectingFileSystem()
        try AtomicFile.write("content", to: target, fileSystem: fs)
        let relevant = fs.calls.filter { [.write, .fsync, .fdatasync, .rename].contains($0.operation) }
        #expect(relevant.count == 4)
        #expect(relevant[0].operation == .write && relevant[0].path?.lastComponent?.string.hasPrefix(".out.durable-tmp-") == true)
        #expect(relevant[1].operation == .fsync && relevant[1].path == relevant[0].path)
        #expect(relevant[2] == SyscallRecord(operation: .rename, path: target))
        #expect(relevant[3] == SyscallRecord(operation: .fsync, path: dir.path))
    }

    @Test func eioOnFsyncFailsWithoutRetryAndRemovesTheTemporaryFile() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("out")
        writeRaw("old", to: target)
        let fs = FaultInjectingFileSystem()
        fs.inject(Fault(.fsync, error: .ioError))
        let error = #expect(throws: DurableIOError.self) { try AtomicFile.write("new", to: target, fileSystem: fs) }
        #expect(error?.code == .syncFailed)
        #expect(error?.operation == "fsync")
        #expect(error?.errno == .ioError)
        #expect(fs.calls.filter { $0.operation == .fsync }.count == 1, "a failed fsync is never retried")
        #expect(!fs.calls.contains { $0.operation == .rename })
        #expect(readText(target) == "old")
        #expect(dir.names == ["out"])
    }

    @Test func enospcOnWriteKeepsTheOldContent() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("out")
        writeRaw("old", to: target)
        let fs = FaultInjectingFileSystem()
        fs.inject(Fault(.write, action: .shortWrite(100), times: 1))
        fs.inject(Fault(.write, error: .noSpace))
        let error = #expect(throws: DurableIOError.self) {
            try AtomicFile.write(String(repeating: "n", count: 10_000), to: target, fileSystem: fs)
        }
        #expect(error?.operation == "write")
        #expect(error?.errno == .noSpace)
        #expect(error?.description.contains("ENOSPC") == true)
        #expect(readText(target) == "old")
        #expect(dir.names == ["out"])
    }

    @Test func unsupportedDirectoryFsyncThrowsUnlessBestEffort() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("out")
        let fs = FaultInjectingFileSystem()
        let directory = dir.path
        fs.inject(Fault(.fsync, path: { $0 == directory }, error: .invalidArgument))
        let error = #expect(throws: DurableIOError.self) { try AtomicFile.write("x", to: target, fileSystem: fs) }
        #expect(error?.code == .directorySyncUnsupported)
        let result = try AtomicFile.write("y", to: target, options: .init(directorySync: .bestEffort), fileSystem: fs)
        #expect(result.directorySynced == false)
        #expect(readText(target) == "y")
    }

    @Test func leftoversOfDeadProcessesAreRemovedLiveOnesKept() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("out")
        // A pid far above pid_max cannot be alive.
        writeRaw("partial", to: dir.file(".out.durable-tmp-99999999-abc"))
        let ownPID = ProcessInfo.processInfo.processIdentifier
        writeRaw("in progress", to: dir.file(".out.durable-tmp-\(ownPID)-def"))
        writeRaw("unrelated", to: dir.file(".other.durable-tmp-99999999-abc"))
        let removed = try AtomicFile.removeLeftovers(beside: target)
        #expect(removed == [dir.file(".out.durable-tmp-99999999-abc")])
        #expect(dir.names == [".other.durable-tmp-99999999-abc", ".out.durable-tmp-\(ownPID)-def"])
    }
}
