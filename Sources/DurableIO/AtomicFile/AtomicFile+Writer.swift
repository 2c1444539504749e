import SystemPackage

extension AtomicFile {
    /// Streams the new content of an ``AtomicFile`` replace into its temporary file, through a 256 KiB buffer.
    ///
    /// Not `Sendable`: it belongs to the closure that receives it.
    ///
    /// ```swift
    /// try AtomicFile.write(to: "rows.jsonl") { writer in
    ///     try writer.write(#"{"key":"a"}"#)
    ///     try writer.write([0x0A])
    /// }
    /// ```
    public struct Writer {
        let fileSystem: any FileSystem
        let fd: FileDescriptor
        let path: FilePath
        private var buffer: [UInt8] = []
        /// Bytes written so far (buffered included).
        public private(set) var bytesWritten: Int64 = 0
        static let capacity = 256 * 1024

        init(fileSystem: any FileSystem, fd: FileDescriptor, path: FilePath) {
            self.fileSystem = fileSystem
            self.fd = fd
            self.path = path
            buffer.reserveCapacity(Self.capacity)
        }

        /// Appends bytes.
        public mutating func write(_ bytes: some Collection<UInt8>) throws(DurableIOError) {
            bytesWritten += Int64(bytes.count)
            if buffer.count + bytes.count > Self.capacity { try flush() }
            if bytes.count >= Self.capacity {
                try writeThrough(Array(bytes))
            } else {
                buffer.append(contentsOf: bytes)
            }
        }

        /// Appends the UTF-8 bytes of a string.
        public mutating func write(_ string: String) throws(DurableIOError) {
            try write(string.utf8)
        }

        mutating func flush() throws(DurableIOError) {
            guard !buffer.isEmpty else { return }
            try writeThrough(buffer)
            buffer.removeAll(keepingCapacity: true)
        }

        private func writeThrough(_ bytes: [UInt8]) throws(DurableIOError) {
            do { try fileSystem.writeAll(fd, bytes) } catch {
                throw DurableIOError.syscall("write", path: path, error)
            }
        }
    }
}
