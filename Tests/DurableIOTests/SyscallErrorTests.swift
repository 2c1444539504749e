import DurableIO
import DurableIOTesting
import Foundation
import SystemPackage
import Testing

/// Each system call's common errnos have their own message (what is wrong, what to do), checked by exact text:
/// the message is what an operator reads.
@Suite("System call errors", .inATestSlot)
struct SyscallErrorTests {
    @Test func openingAMissingLedgerAsksWhetherTheOutputPathIsRight() throws {
        let dir = TemporaryDirectory()
        let missing = dir.file("out.jsonl.done")
        let error = #expect(throws: DurableIOError.self) { try KeyLedger.recover(at: missing) }
        #expect(error?.code == .systemCall)
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.path == missing)
        #expect(
            error?.description
                == "open ledger failed for \(missing): no such file: is the output path right? (ENOENT: No such file or directory)")
    }

    @Test func aLedgerUnderAFileSaysAComponentIsNotADirectory() throws {
        let dir = TemporaryDirectory()
        writeRaw("not a directory", to: dir.file("plain"))
        let path = dir.file("plain").appending("out.jsonl.done")
        let error = #expect(throws: DurableIOError.self) { try KeyLedger.open(at: path) }
        #expect(error?.errno == .notDirectory)
        #expect(
            error?.description
                == "open failed for \(path): a component of the path is not a directory: is the path right? (ENOTDIR: Not a directory)")
    }

    @Test func replacingADirectorySaysTheTargetIsADirectory() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("out.json")
        try FileManager.default.createDirectory(atPath: target.string, withIntermediateDirectories: false)
        let error = #expect(throws: DurableIOError.self) { try AtomicFile.write("x", to: target) }
        #expect(error?.errno == .isDirectory)
        #expect(
            error?.description
                == "rename failed for \(target): the target is a directory: remove it or choose another path (EISDIR: Is a directory)")
        #expect(error?.hint == "The target was not changed.")
    }

    /// The error `body` throws when every `call` fails with `errno` (tests run as root, which no mode bits stop:
    /// the seam produces the errno instead).
    private func failure(
        of call: SyscallRecord.Operation, with errno: Errno, _ body: (FaultInjectingFileSystem) throws -> Void
    ) -> DurableIOError? {
        let fs = FaultInjectingFileSystem()
        fs.inject(Fault(call, error: errno))
        return #expect(throws: DurableIOError.self) { try body(fs) }
    }

    @Test func aReadOnlyFileSystemSaysSoAndWhatToDo() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("out.jsonl.done")
        let error = failure(of: .open, with: .readOnlyFileSystem) { fs in _ = try KeyLedger.open(at: path, fileSystem: fs) }
        #expect(
            error?.description
                == "open failed for \(path): the file system is read-only: remount it read-write, or choose another path (EROFS: Read-only file system)")
    }

    @Test func permissionDeniedNamesWhatToCheck() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("out.jsonl.done")
        let error = failure(of: .open, with: .permissionDenied) { fs in _ = try KeyLedger.recover(at: path, fileSystem: fs) }
        #expect(
            error?.description
                == "open ledger failed for \(path): permission denied: check the owner and mode of the file and of its directories (EACCES: Permission denied)")
    }

    @Test func tooManyOpenFilesSaysWhichLimitToRaise() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("out.json")
        let error = failure(of: .open, with: .tooManyOpenFiles) { fs in
            try AtomicFile.write(Array("x".utf8), to: target, fileSystem: fs)
        }
        #expect(error?.errno == .tooManyOpenFiles)
        #expect(
            error?.message == "this process has too many open files: raise its limit (ulimit -n), or run fewer jobs at once")
    }

    @Test func aRenameAcrossFileSystemsSaysWhy() throws {
        let dir = TemporaryDirectory()
        let target = dir.file("out.json")
        let error = failure(of: .rename, with: .improperLink) { fs in
            try AtomicFile.write(Array("x".utf8), to: target, fileSystem: fs)
        }
        #expect(
            error?.description
                == "rename failed for \(target): the source and the target are on different file systems: a rename cannot move a file between them (EXDEV: Invalid cross-device link)")
    }

    @Test func aFullDiskOnAppendSaysToFreeSpace() throws {
        let dir = TemporaryDirectory()
        let fs = FaultInjectingFileSystem()
        let path = dir.file("out.jsonl.done")
        let ledger = try KeyLedger.open(at: path, fileSystem: fs)
        fs.inject(Fault(.write, error: .noSpace))
        let error = #expect(throws: DurableIOError.self) { try ledger.insert("a") }
        #expect(
            error?.description
                == "append failed for \(path): the disk is full: free space, then run again (ENOSPC: No space left on device)")
    }

    @Test func aFailedSyncSaysWhatMayBeLost() throws {
        let dir = TemporaryDirectory()
        let fs = FaultInjectingFileSystem()
        let path = dir.file("out.jsonl.done")
        let ledger = try KeyLedger.open(at: path, fileSystem: fs)
        fs.inject(Fault(.fdatasync, error: .ioError))
        let error = #expect(throws: DurableIOError.self) { try ledger.insert("a") }
        #expect(error?.code == .syncFailed)
        #expect(
            error?.description
                == "fdatasync failed for \(path): data written since the last successful sync may not be on disk; it was not retried (EIO: Input/output error)")
    }

    @Test func eachStepNamesItsSystemCall() {
        #expect(SystemCall(operation: "open lock file") == .open)
        #expect(SystemCall(operation: "create temporary file") == .create)
        #expect(SystemCall(operation: "directory fsync") == .sync)
        #expect(SystemCall(operation: "read directory") == .listDirectory)
        #expect(SystemCall(operation: "write reclaim guard") == .write)
        #expect(SystemCall(operation: "append") == .write)
        #expect(SystemCall(operation: "statvfs") == .statvfs)
        #expect(SystemCall(operation: "fstat") == .stat)
        #expect(SystemCall(operation: "truncate torn tail") == .truncate)
        #expect(SystemCall(operation: "quarantine torn tail") == .other)
    }

    @Test func aWrappedErrorKeepsItsCause() {
        struct ParserError: Error, CustomStringConvertible { var description: String { "bad quote at line 3" } }
        let error = DurableIOError(.invalidInput, operation: "read CSV output", message: "bad quote at line 3", cause: ParserError())
        #expect(error.cause is ParserError)
        #expect(error == DurableIOError(.invalidInput, operation: "read CSV output", message: "bad quote at line 3", cause: ParserError()))
        #expect(error != DurableIOError(.invalidInput, operation: "read CSV output", message: "bad quote at line 3"))
    }
}
