import SystemPackage

/// The system calls DurableIO reports failures of, each with its own messages for the errnos it commonly sets
/// (after swift-nio's `FileSystemError+Syscall.swift`).
///
/// A failure is named by its step (``DurableIOError/operation``: `open`, `create lock file`, `directory fsync`, …);
/// the step's first words say which call it was.
///
/// ```swift
/// SystemCall(operation: "create temporary file")   // .create
/// ```
package enum SystemCall: Sendable, Equatable {
    /// `open(2)` of a file that should exist.
    case open
    /// `open(2)` with `O_CREAT`.
    case create
    /// `read(2)` / `pread(2)`.
    case read
    /// `write(2)`, or an append to a ledger or staging file.
    case write
    /// `fsync(2)` / `fdatasync(2)`, of a file or a directory.
    case sync
    /// `rename(2)`.
    case rename
    /// `unlink(2)`.
    case unlink
    /// `stat(2)` / `fstat(2)`.
    case stat
    /// `statvfs(2)`.
    case statvfs
    /// `opendir(3)` / `readdir(3)`.
    case listDirectory
    /// `flock(2)`.
    case flock
    /// `ftruncate(2)`.
    case truncate
    /// `fchmod(2)`.
    case chmod
    /// `close(2)`.
    case close
    /// Any other step.
    case other

    /// The call a step's name stands for: `open lock file` is `open`, `write reclaim guard` is `write`.
    package init(operation: String) {
        func starts(_ words: String...) -> Bool { words.contains { operation == $0 || operation.hasPrefix($0 + " ") } }
        if operation.contains("sync") { self = .sync }
        else if starts("read directory", "list directory") { self = .listDirectory }
        else if starts("open") { self = .open }
        else if starts("create") { self = .create }
        else if starts("read") { self = .read }
        else if starts("write", "append") { self = .write }
        else if starts("rename") { self = .rename }
        else if starts("unlink") { self = .unlink }
        else if starts("statvfs") { self = .statvfs }
        else if starts("stat", "fstat") { self = .stat }
        else if starts("flock") { self = .flock }
        else if starts("truncate") { self = .truncate }
        else if starts("fchmod") { self = .chmod }
        else if starts("close") { self = .close }
        else { self = .other }
    }
}

extension DurableIOError {
    /// An error for a failed system call: the call's common errnos get a message of their own saying what is
    /// wrong and what to do; `fsync` failures get ``Code/syncFailed``. The errno and path stay in the error.
    ///
    /// ```swift
    /// do { fd = try fileSystem.open(path, .readOnly, options: [], permissions: nil) } catch {
    ///     throw DurableIOError.syscall("open ledger", path: path, error)  // "… no such file: is the output path right?"
    /// }
    /// ```
    package static func syscall(_ operation: String, path: FilePath?, _ errno: Errno, hint: String? = nil) -> DurableIOError {
        let call = SystemCall(operation: operation)
        return DurableIOError(
            call == .sync ? .syncFailed : .systemCall, operation: operation, path: path, errno: errno,
            message: message(for: call, errno: errno, operation: operation), hint: hint)
    }

    /// What `errno` means when `call` sets it, and what to do next.
    package static func message(for call: SystemCall, errno: Errno, operation: String = "") -> String {
        switch (call, errno) {
        // A sync that fails may have lost what it covered: say so whatever the errno (never retried into a success).
        case (.sync, .noSpace), (.sync, .diskQuotaExceeded):
            return "the disk is full: data written since the last successful sync may not be on disk; it was not retried"
        case (.sync, _):
            return "data written since the last successful sync may not be on disk; it was not retried"

        case (.open, .noSuchFileOrDirectory):
            return operation.contains("ledger") ? "no such file: is the output path right?" : "no such file: is the path right?"
        case (.create, .noSuchFileOrDirectory):
            return "the directory does not exist: create it, or correct the path"
        case (.create, .fileExists):
            return "a file of that name already exists"
        case (.rename, .noSuchFileOrDirectory):
            return "the file to rename is gone, or the target's directory does not exist: did another process remove it?"
        case (.rename, .improperLink):
            return "the source and the target are on different file systems: a rename cannot move a file between them"
        case (.rename, .isDirectory), (.rename, .directoryNotEmpty), (.rename, .fileExists):
            return "the target is a directory: remove it or choose another path"
        case (.unlink, .noSuchFileOrDirectory):
            return "no such file: it was already removed"
        case (.unlink, .isDirectory):
            return "it is a directory, not a file"
        case (.stat, .noSuchFileOrDirectory), (.statvfs, .noSuchFileOrDirectory):
            return "no such file or directory: is the path right?"
        case (.listDirectory, .noSuchFileOrDirectory):
            return "no such directory: is the path right?"
        case (.listDirectory, .notDirectory):
            return "not a directory: is the path right?"
        case (.read, .isDirectory):
            return "it is a directory, not a file: is the path right?"
        case (.flock, .noLocks):
            return "the kernel has no lock to give (ENOLCK): on NFS, flock needs lock support; else raise the system's lock limit"
        case (.write, .fileTooLarge), (.truncate, .fileTooLarge):
            return "the file is larger than this file system or the process's limit (ulimit -f) allows"

        case (_, .permissionDenied), (_, .notPermitted):
            return call == .create || call == .rename || call == .unlink
                ? "permission denied: this user cannot change the directory; check its owner and mode"
                : "permission denied: check the owner and mode of the file and of its directories"
        case (_, .readOnlyFileSystem):
            return "the file system is read-only: remount it read-write, or choose another path"
        case (_, .noSpace):
            return "the disk is full: free space, then run again"
        case (_, .diskQuotaExceeded):
            return "the disk quota is exhausted: free space or raise the quota, then run again"
        case (_, .ioError):
            return "an I/O error: the disk or the file system is failing; check the kernel log (dmesg) before anything else"
        case (_, .isDirectory):
            return "it is a directory, not a file: is the path right?"
        case (_, .notDirectory):
            return "a component of the path is not a directory: is the path right?"
        case (_, .tooManyOpenFiles):
            return "this process has too many open files: raise its limit (ulimit -n), or run fewer jobs at once"
        case (_, .tooManyOpenFilesInSystem):
            return "the system has too many open files: close some, or raise fs.file-max"
        case (_, .tooManySymbolicLinkLevels):
            return "it is a symbolic link: DurableIO does not follow links here; use the real path"
        case (_, .fileNameTooLong):
            return "the name is too long for this file system"
        case (_, .fileExists):
            return "a file of that name already exists"
        case (_, .noSuchFileOrDirectory):
            return "no such file or directory: is the path right?"
        default:
            return "the system call failed"
        }
    }
}
