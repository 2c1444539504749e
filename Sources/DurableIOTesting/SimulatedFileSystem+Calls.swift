import DurableIO
import SystemPackage

extension SimulatedFileSystem {
    public func open(
        _ path: FilePath, _ access: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions,
        permissions: FilePermissions?
    ) throws(Errno) -> FileDescriptor {
        try state.withLock { (s) throws(Errno) -> FileDescriptor in
            try fail(try enter(&s, .open, path))
            guard let (parentPath, name) = Self.split(path) else { throw .invalidArgument }
            let parent = try Self.lookup(parentPath, in: s)
            guard s.nodes[parent]?.isDirectory == true else { throw .notDirectory }
            var inode = s.entries[parent]?[name]
            if inode != nil && options.contains(.create) && options.contains(.exclusiveCreate) { throw .fileExists }
            if inode == nil {
                guard options.contains(.create) else { throw .noSuchFileOrDirectory }
                let id = s.nextInode
                s.nextInode += 1
                s.nodes[id] = Node(isDirectory: false, mode: UInt16(permissions?.rawValue ?? 0o644), mtime: s.clock)
                Self.setName(&s, dir: parent, name, id)
                inode = id
            }
            let id = inode!
            if options.contains(.directory) && s.nodes[id]?.isDirectory != true { throw .notDirectory }
            if options.contains(.truncate) && !(s.nodes[id]?.data.isEmpty ?? true) {
                s.nodes[id]!.data = []
                s.nodes[id]!.pending.append(.truncate(length: 0))
            }
            let fd = s.nextFD
            s.nextFD += 1
            s.files[fd] = OpenFile(inode: id, path: path, offset: 0, append: options.contains(.append))
            return FileDescriptor(rawValue: fd)
        }
    }

    public func close(_ fd: FileDescriptor) throws(Errno) {
        try state.withLock { (s) throws(Errno) in
            let file = try openFile(s, fd)
            _ = try enter(&s, .close, file.path)
            s.files[fd.rawValue] = nil
            Self.releaseLock(&s, inode: file.inode, fd: fd.rawValue)
        }
    }

    public func read(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try state.withLock { (s) throws(Errno) -> Int in
            let file = try openFile(s, fd)
            try fail(try enter(&s, .read, file.path))
            let n = copy(s.nodes[file.inode]!.data, from: file.offset, into: buffer)
            s.files[fd.rawValue]!.offset += n
            return n
        }
    }

    public func pread(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try state.withLock { (s) throws(Errno) -> Int in
            let file = try openFile(s, fd)
            try fail(try enter(&s, .read, file.path))
            return copy(s.nodes[file.inode]!.data, from: Int(offset), into: buffer)
        }
    }

    private func copy(_ data: [UInt8], from offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard offset < data.count else { return 0 }
        let n = min(buffer.count, data.count - offset)
        data.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        return n
    }

    public func write(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try state.withLock { (s) throws(Errno) -> Int in
            let file = try openFile(s, fd)
            let action = try enter(&s, .write, file.path)
            try fail(action)
            let offset = file.append ? s.nodes[file.inode]!.data.count : file.offset
            let n = Self.limit(action, buffer.count)
            Self.store(&s, inode: file.inode, offset: offset, bytes: Array(buffer.prefix(n)))
            s.files[fd.rawValue]!.offset = offset + n
            return n
        }
    }

    public func pwrite(_ fd: FileDescriptor, _ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try state.withLock { (s) throws(Errno) -> Int in
            let file = try openFile(s, fd)
            let action = try enter(&s, .write, file.path)
            try fail(action)
            let n = Self.limit(action, buffer.count)
            Self.store(&s, inode: file.inode, offset: Int(offset), bytes: Array(buffer.prefix(n)))
            return n
        }
    }

    private static func limit(_ action: Fault.Action?, _ count: Int) -> Int {
        if case .shortWrite(let limit) = action { return max(1, min(limit, count)) }
        return count
    }

    static func store(_ s: inout State, inode: UInt64, offset: Int, bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        apply(.write(offset: offset, bytes: bytes), to: &s.nodes[inode]!.data)
        s.nodes[inode]!.pending.append(.write(offset: offset, bytes: bytes))
        s.nodes[inode]!.mtime = s.clock
    }

    static func apply(_ op: PendingData, to data: inout [UInt8]) {
        switch op {
        case .write(let offset, let bytes):
            if data.count < offset + bytes.count { data += [UInt8](repeating: 0, count: offset + bytes.count - data.count) }
            data.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        case .truncate(let length):
            if data.count > length { data.removeSubrange(length...) } else {
                data += [UInt8](repeating: 0, count: length - data.count)
            }
        }
    }

    public func fsync(_ fd: FileDescriptor) throws(Errno) { try sync(fd, .fsync) }

    public func fdatasync(_ fd: FileDescriptor) throws(Errno) { try sync(fd, .fdatasync) }

    private func sync(_ fd: FileDescriptor, _ operation: SyscallRecord.Operation) throws(Errno) {
        try state.withLock { (s) throws(Errno) in
            let file = try openFile(s, fd)
            let action = try enter(&s, operation, file.path)
            let node = s.nodes[file.inode]!
            if node.isDirectory {
                try fail(action)
                if mutations.contains(.ignoreDirectoryFsync) { return }
                s.durableEntries[file.inode] = s.entries[file.inode]
                s.pendingNames[file.inode] = []
                return
            }
            if case .fail(let errno) = action {
                if errno == .ioError { s.nodes[file.inode]!.pending = [] }  // Linux drops the dirty pages
                throw errno
            }
            for case .ignoreFileFsync(let text) in mutations where file.path.string.contains(text) { return }
            if mutations.contains(.fsyncFailsSilently) {
                s.nodes[file.inode]!.pending = []
                return
            }
            s.nodes[file.inode]!.durable = node.data
            s.nodes[file.inode]!.pending = []
        }
    }

    public func rename(_ source: FilePath, to destination: FilePath) throws(Errno) {
        try state.withLock { (s) throws(Errno) in
            try fail(try enter(&s, .rename, destination))
            guard let (fromDir, fromName) = Self.split(source), let (toDir, toName) = Self.split(destination) else {
                throw .invalidArgument
            }
            let from = try Self.lookup(fromDir, in: s)
            let to = try Self.lookup(toDir, in: s)
            guard let inode = s.entries[from]?[fromName] else { throw .noSuchFileOrDirectory }
            if from == to && fromName == toName { return }
            Self.setName(&s, dir: from, fromName, nil)
            Self.setName(&s, dir: to, toName, inode)
        }
    }

    public func link(_ existing: FilePath, to newPath: FilePath) throws(Errno) {
        try state.withLock { (s) throws(Errno) in
            try fail(try enter(&s, .link, newPath))
            let inode = try Self.lookup(existing, in: s)
            guard let (dirPath, name) = Self.split(newPath) else { throw .invalidArgument }
            let dir = try Self.lookup(dirPath, in: s)
            if s.entries[dir]?[name] != nil { throw .fileExists }
            Self.setName(&s, dir: dir, name, inode)
        }
    }

    public func unlink(_ path: FilePath) throws(Errno) {
        try state.withLock { (s) throws(Errno) in
            try fail(try enter(&s, .unlink, path))
            guard let (dirPath, name) = Self.split(path) else { throw .invalidArgument }
            let dir = try Self.lookup(dirPath, in: s)
            guard let inode = s.entries[dir]?[name] else { throw .noSuchFileOrDirectory }
            if s.nodes[inode]?.isDirectory == true { throw .isDirectory }
            Self.setName(&s, dir: dir, name, nil)
        }
    }

    public func truncate(_ fd: FileDescriptor, to length: Int64) throws(Errno) {
        try state.withLock { (s) throws(Errno) in
            let file = try openFile(s, fd)
            try fail(try enter(&s, .truncate, file.path))
            if mutations.contains(.ignoreTruncate) { return }
            Self.apply(.truncate(length: Int(length)), to: &s.nodes[file.inode]!.data)
            s.nodes[file.inode]!.pending.append(.truncate(length: Int(length)))
        }
    }

    public func touch(_ fd: FileDescriptor) throws(Errno) {
        try state.withLock { (s) throws(Errno) in
            let file = try openFile(s, fd)
            try fail(try enter(&s, .touch, file.path))
            s.nodes[file.inode]!.mtime = s.clock
        }
    }

    public func setPermissions(_ fd: FileDescriptor, _ permissions: FilePermissions) throws(Errno) {
        try state.withLock { (s) throws(Errno) in
            let file = try openFile(s, fd)
            try fail(try enter(&s, .setPermissions, file.path))
            s.nodes[file.inode]!.mode = UInt16(permissions.rawValue)
        }
    }

    public func mkdir(_ path: FilePath, permissions: FilePermissions) throws(Errno) {
        try state.withLock { (s) throws(Errno) in
            try fail(try enter(&s, .mkdir, path))
            guard let (dirPath, name) = Self.split(path) else { throw .invalidArgument }
            let dir = try Self.lookup(dirPath, in: s)
            if s.entries[dir]?[name] != nil { throw .fileExists }
            let id = s.nextInode
            s.nextInode += 1
            s.nodes[id] = Node(isDirectory: true, mode: UInt16(permissions.rawValue), mtime: s.clock)
            s.entries[id] = [:]
            s.durableEntries[id] = [:]
            Self.setName(&s, dir: dir, name, id)
        }
    }

    public func flock(_ fd: FileDescriptor, _ operation: FileLockOperation) throws(Errno) {
        try state.withLock { (s) throws(Errno) in
            let file = try openFile(s, fd)
            try fail(try enter(&s, .flock, file.path))
            var lock = s.locks[file.inode] ?? (nil, [])
            let me = fd.rawValue
            switch operation.kind {
            case .unlock:
                Self.releaseLock(&s, inode: file.inode, fd: me)
                return
            case .exclusive:
                if (lock.exclusive != nil && lock.exclusive != me) || !lock.shared.subtracting([me]).isEmpty {
                    throw .wouldBlock
                }
                lock.shared.remove(me)
                lock.exclusive = me
            case .shared:
                if let holder = lock.exclusive, holder != me { throw .wouldBlock }
                if lock.exclusive == me { lock.exclusive = nil }
                lock.shared.insert(me)
            }
            s.locks[file.inode] = lock
        }
    }

    static func releaseLock(_ s: inout State, inode: UInt64, fd: Int32) {
        guard var lock = s.locks[inode] else { return }
        if lock.exclusive == fd { lock.exclusive = nil }
        lock.shared.remove(fd)
        s.locks[inode] = lock
    }

    public func stat(_ path: FilePath, followSymlinks: Bool) throws(Errno) -> FileStatus {
        try state.withLock { (s) throws(Errno) -> FileStatus in
            try fail(try enter(&s, .stat, path))
            return Self.status(s, try Self.lookup(path, in: s))
        }
    }

    public func fstat(_ fd: FileDescriptor) throws(Errno) -> FileStatus {
        try state.withLock { (s) throws(Errno) -> FileStatus in
            let file = try openFile(s, fd)
            try fail(try enter(&s, .stat, file.path))
            return Self.status(s, file.inode)
        }
    }

    static func status(_ s: State, _ inode: UInt64) -> FileStatus {
        let node = s.nodes[inode]!
        return FileStatus(
            size: Int64(node.data.count), permissions: FilePermissions(rawValue: CModeT(node.mode)),
            kind: node.isDirectory ? .directory : .regular, device: 1, inode: inode,
            modificationSeconds: Int64(node.mtime), modificationNanoseconds: Int64((node.mtime - node.mtime.rounded(.down)) * 1e9))
    }

    public func availableSpace(at path: FilePath) throws(Errno) -> Int64 { 1 << 40 }

    public func isProcessAlive(_ pid: Int32) -> Bool {
        // After a simulated reboot every process of before the crash is dead.
        state.withLock { $0.rebooted } ? false : RealFileSystem().isProcessAlive(pid)
    }

    public func listDirectory(_ path: FilePath) throws(Errno) -> [FilePath.Component] {
        try state.withLock { (s) throws(Errno) -> [FilePath.Component] in
            try fail(try enter(&s, .listDirectory, path))
            let dir = try Self.lookup(path, in: s)
            guard s.nodes[dir]?.isDirectory == true else { throw .notDirectory }
            return Array(s.entries[dir]!.keys)
        }
    }

    private func fail(_ action: Fault.Action?) throws(Errno) {
        if case .fail(let errno) = action { throw errno }
    }
}
