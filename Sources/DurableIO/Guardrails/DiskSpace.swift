import SystemPackage

/// A check before any work starts: is there room for the output?
///
/// ```swift
/// try DiskSpace.require(50_000_000_000, at: "/data/out")   // "only 1.20 GB free at /data/out; the job needs 50.00 GB"
/// ```
public enum DiskSpace {
    /// Bytes available to this user on the file system holding `directory`.
    public static func available(at directory: FilePath, fileSystem: any FileSystem = RealFileSystem()) throws(DurableIOError) -> Int64 {
        do { return try fileSystem.availableSpace(at: directory) } catch {
            throw DurableIOError.syscall("statvfs", path: directory, error)
        }
    }

    /// Throws unless at least `bytes` are available at `directory`.
    ///
    /// - Throws: ``DurableIOError/Code/insufficientDiskSpace`` with both figures.
    public static func require(_ bytes: Int64, at directory: FilePath, fileSystem: any FileSystem = RealFileSystem()) throws(DurableIOError) {
        let free = try available(at: directory, fileSystem: fileSystem)
        guard free >= bytes else {
            throw DurableIOError(
                .insufficientDiskSpace, operation: "disk space preflight", path: directory,
                message: "only \(MemoryUsage.format(free)) free at \(directory); the job needs \(MemoryUsage.format(bytes))",
                hint: "Nothing was started. Free space, or point the output at a larger disk.")
        }
    }
}
