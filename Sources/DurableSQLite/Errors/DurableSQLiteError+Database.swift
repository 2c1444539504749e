import Foundation
import GRDB

extension DurableSQLiteError {
    /// An SQLite error turned into one that names the database file, says what happened in words and what to do:
    /// the common result codes each get their own message (as swift-nio's `FileSystemError+Syscall` does per errno).
    ///
    /// A ``DurableSQLiteError`` (and any error that is not GRDB's `DatabaseError`, such as a cancellation) is
    /// returned as it is.
    ///
    /// ```swift
    /// do { try pool.write { … } } catch {
    ///     throw DurableSQLiteError.database(error, operation: "commit results", path: "runs.sqlite")
    /// }
    /// // commit results failed: runs.sqlite: a disk I/O error while syncing (SQLite error 1034) — this commit is
    /// // not acknowledged and is not retried
    /// ```
    ///
    /// - Parameters:
    ///   - operation: the step that failed (`open the run store`, `commit results`, …).
    ///   - path: the database file.
    ///   - hint: what to do when the error itself suggests nothing better.
    package static func database(_ error: any Error, operation: String, path: String, hint: String? = nil) -> any Error {
        guard let sqlite = error as? DatabaseError else { return error }
        let extended = sqlite.extendedResultCode
        let code = "SQLite error \(extended.rawValue)"
        switch sqlite.resultCode {
        case .SQLITE_IOERR:
            return DurableSQLiteError(
                .ioFailed, operation: operation,
                message: "\(path): a disk I/O error while \(ioStep(extended)) (\(code)); this write is not acknowledged and is not retried",
                hint: "Check the disk (dmesg, the file system, free space). Every commit acknowledged before this one is on disk; run the command again once the disk is sound.")
        case .SQLITE_FULL:
            return DurableSQLiteError(
                .ioFailed, operation: operation,
                message: "\(path): the disk is full (\(code)); this write is not acknowledged and is not retried",
                hint: "Free space on the file system that holds \(path) (and its -wal file), then run the command again.")
        case .SQLITE_CANTOPEN:
            return DurableSQLiteError(
                .databaseUnavailable, operation: operation,
                message: "cannot open \(path) (\(code): unable to open database file)",
                hint: "Check that its folder exists and that this user may read and write there (SQLite creates \(path)-wal and \(path)-shm beside it).")
        case .SQLITE_NOTADB:
            return DurableSQLiteError(
                .databaseUnavailable, operation: operation,
                message: "\(path) is not an SQLite database (\(code): file is not a database); it was left as it is",
                hint: "Check the --db path: it names the database file, not a source or another file.")
        case .SQLITE_CORRUPT:
            return DurableSQLiteError(
                .databaseUnavailable, operation: operation, message: "\(path) is corrupt (\(code): \(sqlite.message ?? "database disk image is malformed"))",
                hint: "Restore it from a backup; `sqlite3 \(path) 'PRAGMA integrity_check'` shows what is damaged.")
        case .SQLITE_READONLY where extended == .SQLITE_READONLY_ROLLBACK || FileManager.default.fileExists(atPath: path + "-journal"):
            return DurableSQLiteError(
                .needsRecovery, operation: operation,
                message: "\(path) needs recovery after a crash (a hot rollback journal, \(path)-journal, is beside it), which a read-only command does not do",
                hint: hint ?? "Open it with a command that writes, which rolls the interrupted transaction back.")
        case .SQLITE_READONLY:
            return DurableSQLiteError(
                .databaseUnavailable, operation: operation, message: "\(path) cannot be written (\(code): \(sqlite.message ?? "attempt to write a readonly database"))",
                hint: "Check the permissions of \(path), its -wal and -shm files and their folder.")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return DurableSQLiteError(
                .databaseUnavailable, operation: operation,
                message: "\(path) stayed locked by another connection longer than the busy timeout (\(code))",
                hint: hint ?? "Another process holds a long write transaction on it; run the command again when it has finished.")
        default:
            return DurableSQLiteError(
                .databaseUnavailable, operation: operation, message: "\(path): \(code): \(sqlite.message ?? "\(sqlite.resultCode)")",
                hint: hint)
        }
    }

    /// What SQLite was doing when an I/O error's extended code says it failed.
    private static func ioStep(_ code: ResultCode) -> String {
        switch code {
        case .SQLITE_IOERR_FSYNC: return "syncing it or its -wal file"
        case .SQLITE_IOERR_DIR_FSYNC: return "syncing its folder"
        case .SQLITE_IOERR_WRITE: return "writing it or its -wal file"
        case .SQLITE_IOERR_READ, .SQLITE_IOERR_SHORT_READ: return "reading it"
        case .SQLITE_IOERR_TRUNCATE: return "truncating it or its -wal file"
        case .SQLITE_IOERR_DELETE: return "removing its journal"
        default: return "reading or writing it"
        }
    }

    /// `no such database: PATH`, for a command that must not create one.
    package static func noSuchDatabase(_ path: String, operation: String, hint: String) -> DurableSQLiteError {
        DurableSQLiteError(.databaseUnavailable, operation: operation, message: "no such database: \(path)", hint: hint)
    }
}
