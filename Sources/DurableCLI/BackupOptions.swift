import ArgumentParser

/// The backup flags of the commands that continue a production SQLite database (`durable-resume start|resume`,
/// `durable-backfill run|resume`), with one meaning: `--backup` takes a consistent copy of the database with
/// SQLite's online backup API before anything else, to `<db name>.<UTC timestamp>.backup` beside the database or
/// in `--backup-dir DIR` (which implies `--backup`), and keeps the newest `--keep-backups N` (default 3). The disk
/// preflight counts the copy: a backup that would leave less than `--min-free-disk` free is refused (exit 6).
///
/// (`--backup [DIR]` with an optional value cannot be declared with swift-argument-parser — an option's value is
/// required — hence the flag and `--backup-dir`.)
///
/// ```swift
/// struct Resume: ParsableCommand {
///     @OptionGroup(title: "Backup") var backup: BackupOptions
///     func run() throws { if backup.isRequested { /* DatabaseBackup.make(of:options:) */ } }
/// }
/// ```
public struct BackupOptions: ParsableArguments, Sendable {
    @Flag(help: "Before anything else, take a consistent copy of the SQLite database (SQLite's online backup API, never a file copy) to <db name>.<UTC timestamp>.backup beside it, fsync'd and renamed atomically. WAL mode: writers keep committing meanwhile (a 1 GB copy took 5.4 s measured, the longest commit during it 0.16 s); rollback-journal mode: the copy holds a read lock and writers wait for all of it (1.5 s for 457 MB, 4.9 s for 1 GB measured; see Documentation/Backups.md). Not for PostgreSQL: use pg_dump.")
    public var backup = false

    @Option(help: ArgumentHelp("Put the backup in this directory instead (implies --backup).", valueName: "dir"))
    public var backupDir: String?

    @Option(help: ArgumentHelp("Backups of this database to keep, the new one included (default 3); older ones (only files named like a backup of this database) are removed.", valueName: "n"), transform: NumericArgument.count(in: 1...10_000))
    public var keepBackups: Int = 3

    public init() {}

    /// Whether a backup was asked for (`--backup` or `--backup-dir`).
    public var isRequested: Bool { backup || backupDir != nil }

    /// The refusal for a store that is not an SQLite file, for a command's `validate()`.
    public static let postgresRefusal = "--backup copies an SQLite database; back up a PostgreSQL store with pg_dump (e.g. pg_dump -Fc -f runs.dump 'postgres://…') before you continue"
}
