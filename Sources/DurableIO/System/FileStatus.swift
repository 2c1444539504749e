import SystemPackage

/// What `stat(2)` says of a file: the fields DurableIO uses.
///
/// ```swift
/// let status = try RealFileSystem().stat("/tmp/out.jsonl", followSymlinks: true)
/// print(status.size, status.permissions)
/// ```
public struct FileStatus: Hashable, Sendable {
    /// The type of a file.
    public enum Kind: Hashable, Sendable { case regular, directory, symbolicLink, other }

    /// Size in bytes.
    public var size: Int64
    /// Permission bits (without the file type).
    public var permissions: FilePermissions
    /// Regular file, directory, symbolic link or other.
    public var kind: Kind
    /// Device id.
    public var device: UInt64
    /// Inode number.
    public var inode: UInt64
    /// Last modification, seconds since 1970.
    public var modificationSeconds: Int64
    /// Nanoseconds part of the last modification.
    public var modificationNanoseconds: Int64

    /// Creates a status value.
    public init(
        size: Int64, permissions: FilePermissions, kind: Kind, device: UInt64 = 0, inode: UInt64 = 0,
        modificationSeconds: Int64 = 0, modificationNanoseconds: Int64 = 0
    ) {
        self.size = size
        self.permissions = permissions
        self.kind = kind
        self.device = device
        self.inode = inode
        self.modificationSeconds = modificationSeconds
        self.modificationNanoseconds = modificationNanoseconds
    }
}
