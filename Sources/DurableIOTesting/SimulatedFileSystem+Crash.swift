import DurableIO
import SystemPackage

extension SimulatedFileSystem {
    /// One state a power cut could leave on disk, with what it lost.
    public struct CrashState: Sendable, CustomStringConvertible {
        let state: State
        /// What this state lost, in words ("nothing" when everything had reached disk).
        public let description: String
    }

    /// A copy of this file system as it is now (its state, faults and freeze included).
    public func copy() -> SimulatedFileSystem {
        SimulatedFileSystem(pageSize: pageSize, mutations: mutations, rebootedFrom: state.withLock { $0 })
    }

    /// The file system after a reboot into `crash`: only what was durable, no open files or locks, every earlier
    /// process dead. Mutations carry over.
    public func rebooted(into crash: CrashState) -> SimulatedFileSystem {
        SimulatedFileSystem(pageSize: pageSize, mutations: mutations, rebootedFrom: crash.state)
    }

    /// The states a power cut now could leave: every combination of what each file and directory may have lost,
    /// or `limit` of them drawn with `seed` when there are more.
    ///
    /// - Returns: the states, how many combinations there were, and whether they were sampled.
    public func crashStates(limit: Int, seed: UInt64) -> (states: [CrashState], combinations: Int, sampled: Bool) {
        let s = state.withLock { $0 }
        let names = Self.pathsByInode(s)
        var dimensions: [Dimension] = []
        for (dir, ops) in s.pendingNames.sorted(by: { $0.key < $1.key }) where !ops.isEmpty {
            dimensions.append(.names(dir: dir, count: ops.count, label: names[dir] ?? "directory \(dir)"))
        }
        for (inode, node) in s.nodes.sorted(by: { $0.key < $1.key }) where !node.isDirectory && !node.pending.isEmpty {
            dimensions.append(.data(inode: inode, choices: dataChoices(node), label: names[inode] ?? "inode \(inode)"))
        }
        var combinations = 1
        for d in dimensions {
            let (product, overflow) = combinations.multipliedReportingOverflow(by: d.count)
            combinations = overflow ? Int.max : product
        }
        var picks: [[Int]] = []
        let sampled = combinations > limit
        if !sampled {
            var odometer = [Int](repeating: 0, count: dimensions.count)
            for _ in 0..<combinations {
                picks.append(odometer)
                for i in odometer.indices.reversed() {
                    odometer[i] += 1
                    if odometer[i] < dimensions[i].count { break }
                    odometer[i] = 0
                }
            }
        } else {
            var rng = SplitMix(state: seed)
            // Always include "everything survived" and "nothing unsynced survived".
            picks.append(dimensions.map { $0.count - 1 })
            picks.append(dimensions.map { _ in 0 })
            while picks.count < limit { picks.append(dimensions.map { Int.random(in: 0..<$0.count, using: &rng) }) }
        }
        let states = picks.map { pick in build(from: s, dimensions: dimensions, pick: pick) }
        return (states, combinations, sampled)
    }

    enum Dimension {
        case names(dir: UInt64, count: Int, label: String)  // count = pending ops; choice = how many survived
        case data(inode: UInt64, choices: [(data: [UInt8], story: String)], label: String)

        var count: Int {
            switch self {
            case .names(_, let count, _): return count + 1
            case .data(_, let choices, _): return choices.count
            }
        }
    }

    /// What a file's data may be after a power cut: a prefix of its unsynced operations; the last one cut at a
    /// page boundary; or the final size with the unsynced range read back as zeros.
    func dataChoices(_ node: Node) -> [(data: [UInt8], story: String)] {
        var seen = Set<[UInt8]>()
        var choices: [(data: [UInt8], story: String)] = []
        func add(_ data: [UInt8], _ story: String) {
            if seen.insert(data).inserted { choices.append((data, story)) }
        }
        let k = node.pending.count
        var prefix = node.durable
        var prefixes = [prefix]
        add(prefix, "all \(k) unsynced writes lost")
        for (j, op) in node.pending.enumerated() {
            if case .write(let offset, let bytes) = op {
                var boundary = (offset / pageSize + 1) * pageSize
                while boundary < offset + bytes.count {
                    var partial = prefix
                    Self.apply(.write(offset: offset, bytes: Array(bytes[..<(boundary - offset)])), to: &partial)
                    add(partial, "\(j) of \(k) unsynced writes kept, the next cut at byte \(boundary)")
                    boundary += pageSize
                }
            }
            Self.apply(op, to: &prefix)
            prefixes.append(prefix)
            add(prefix, j + 1 == k ? "nothing lost" : "\(j + 1) of \(k) unsynced writes kept")
        }
        let finalSize = prefix.count
        for (j, kept) in prefixes.enumerated() where kept.count < finalSize {
            add(kept + [UInt8](repeating: 0, count: finalSize - kept.count), "\(j) of \(k) writes kept, the size reached disk: NUL tail of \(finalSize - kept.count) bytes")
        }
        return choices
    }

    private func build(from s: State, dimensions: [Dimension], pick: [Int]) -> CrashState {
        var next = State()
        next.nextInode = s.nextInode
        next.nextFD = s.nextFD
        next.clock = s.clock + 10
        next.rebooted = true
        next.nodes = s.nodes.mapValues { node in
            var fresh = Node(isDirectory: node.isDirectory, data: node.durable, durable: node.durable, mode: node.mode, mtime: node.mtime)
            fresh.pending = []
            return fresh
        }
        next.entries = s.durableEntries
        var lost: [String] = []
        for (dimension, choice) in zip(dimensions, pick) {
            switch dimension {
            case .names(let dir, let count, let label):
                for op in s.pendingNames[dir]!.prefix(choice) { next.entries[dir, default: [:]][op.name] = op.inode }
                if choice < count { lost.append("\(label): \(choice) of \(count) name changes reached disk") }
            case .data(let inode, let choices, let label):
                next.nodes[inode]!.data = choices[choice].data
                next.nodes[inode]!.durable = choices[choice].data
                if choices[choice].story != "nothing lost" { lost.append("\(label): \(choices[choice].story)") }
            }
        }
        next.durableEntries = next.entries
        return CrashState(state: next, description: lost.isEmpty ? "nothing" : lost.joined(separator: "; "))
    }

    /// A readable path for every inode reachable now or durably (for stories).
    static func pathsByInode(_ s: State) -> [UInt64: String] {
        var result: [UInt64: String] = [root: "/"]
        var queue: [(UInt64, String)] = [(root, "")]
        while let (dir, prefix) = queue.popLast() {
            let merged = (s.entries[dir] ?? [:]).merging(s.durableEntries[dir] ?? [:]) { a, _ in a }
            let renamed = (s.pendingNames[dir] ?? []).compactMap { op in op.inode.map { (op.name, $0) } }
            for (name, inode) in Array(merged) + renamed where result[inode] == nil {
                let path = prefix + "/" + name.string
                result[inode] = path
                if s.nodes[inode]?.isDirectory == true { queue.append((inode, path)) }
            }
        }
        return result
    }
}

/// A small deterministic generator, so a sampled run can be replayed from its seed.
package struct SplitMix: RandomNumberGenerator {
    package var state: UInt64
    package init(state: UInt64) { self.state = state }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
