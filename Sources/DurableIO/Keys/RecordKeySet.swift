import Foundation

/// A set of ``RecordKey``s, built for sets of millions of keys.
///
/// Internally 64 shards, each a standard `Set<RecordKey>`, chosen by the key's hash. Recovery builds the shards
/// on all cores at once and each shard's table stays small enough to sit in cache, which is what makes a
/// 1,000,000-key ledger load in a fraction of a second; to a caller it is an ordinary set.
///
/// ```swift
/// var done: RecordKeySet = ["clip_000001", "clip_000002"]
/// done.insert("clip_000003")
/// let missing = done.subtracting(present)        // keys the ledger lists but the output lacks
/// print(done.count, done.contains("clip_000002"))
/// ```
public struct RecordKeySet: Sendable, Equatable, Sequence, ExpressibleByArrayLiteral, CustomStringConvertible {
    static let shardCount = 64
    private(set) var shards: [Set<RecordKey>]

    @inline(__always)
    static func shard(of key: RecordKey) -> Int { Int(UInt(bitPattern: key.fingerprint) >> 58) }

    /// An empty set.
    public init() { shards = Array(repeating: [], count: Self.shardCount) }

    /// A set of the keys in `keys`.
    public init(_ keys: some Sequence<RecordKey>) {
        self.init()
        for key in keys { insert(key) }
    }

    /// A set from a literal.
    public init(arrayLiteral keys: RecordKey...) { self.init(keys) }

    init(shards: [Set<RecordKey>]) {
        precondition(shards.count == Self.shardCount)
        self.shards = shards
    }

    /// How many keys.
    public var count: Int { shards.reduce(0) { $0 + $1.count } }

    /// Whether there are none.
    public var isEmpty: Bool { shards.allSatisfy(\.isEmpty) }

    /// Whether `key` is a member.
    public func contains(_ key: RecordKey) -> Bool { shards[Self.shard(of: key)].contains(key) }

    /// The member equal to `key` — the instance this set stores, not `key` — or `nil`.
    ///
    /// A reader that parses keys the set already holds keeps the stored instance and lets its own copy go: a
    /// million keys held twice share one heap object each instead of two (the finalize of a million-row run).
    package func member(equalTo key: RecordKey) -> RecordKey? {
        let shard = shards[Self.shard(of: key)]
        return shard.firstIndex(of: key).map { shard[$0] }
    }

    /// Adds `key`; returns whether it was new.
    @discardableResult
    public mutating func insert(_ key: RecordKey) -> Bool { shards[Self.shard(of: key)].update(with: key) == nil }

    /// Removes `key`; returns whether it was there.
    @discardableResult
    public mutating func remove(_ key: RecordKey) -> Bool { shards[Self.shard(of: key)].remove(key) != nil }

    /// Adds every key of `other`.
    public mutating func formUnion(_ other: some Sequence<RecordKey>) {
        for key in other { insert(key) }
    }

    /// The keys in either.
    public func union(_ other: RecordKeySet) -> RecordKeySet {
        RecordKeySet(shards: zip(shards, other.shards).map { $0.union($1) })
    }

    /// The keys in this set and not in `other`.
    public func subtracting(_ other: RecordKeySet) -> RecordKeySet {
        RecordKeySet(shards: zip(shards, other.shards).map { $0.subtracting($1) })
    }

    /// The keys in both.
    public func intersection(_ other: RecordKeySet) -> RecordKeySet {
        RecordKeySet(shards: zip(shards, other.shards).map { $0.intersection($1) })
    }

    /// Whether every key of this set is in `other`.
    public func isSubset(of other: RecordKeySet) -> Bool {
        zip(shards, other.shards).allSatisfy { $0.isSubset(of: $1) }
    }

    public func makeIterator() -> FlattenSequence<[Set<RecordKey>]>.Iterator { shards.joined().makeIterator() }

    public var underestimatedCount: Int { count }

    public var description: String {
        let sample = sorted().prefix(5).map(\.description).joined(separator: ", ")
        return "RecordKeySet(\(count) keys: \(sample)\(count > 5 ? ", …" : ""))"
    }

    /// The set of `keys`, built on all cores, and how many of `keys` repeat an earlier one: what a run's million
    /// inputs need before anything is compared with them.
    package static func gathering(_ keys: [RecordKey]) -> (set: RecordKeySet, duplicateCount: Int) {
        let laneCount = keys.count < 65_536 ? 1 : recoveryParallelism
        var lanes = [[[RecordKey]]](repeating: [], count: laneCount)
        lanes.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendable(out)
            let keys = UnsafeSendable(keys)
            DispatchQueue.concurrentPerform(iterations: laneCount) { lane in
                let range = keys.value.count * lane / laneCount..<keys.value.count * (lane + 1) / laneCount
                var buckets = [[RecordKey]](repeating: [], count: shardCount)
                for s in 0..<shardCount { buckets[s].reserveCapacity(range.count / shardCount + 16) }
                for key in keys.value[range] { buckets[shard(of: key)].append(key) }
                out.value[lane] = buckets
            }
        }
        let (set, duplicates) = build(fromLanes: lanes)
        return (set, duplicates.count)
    }

    /// How many keys of this set `other` does not hold, counted shard by shard on all cores.
    package func countNot(in other: RecordKeySet) -> Int {
        Self.mapShards([self, other]) { sets in sets[0].reduce(0) { $0 + (sets[1].contains($1) ? 0 : 1) } }.reduce(0, +)
    }

    /// What ``build(fromLanes:)`` found besides the set: keys the lanes held more than once.
    struct Duplicates {
        /// Keys beyond the first, over all shards.
        var count = 0
        /// The smallest duplicated keys (byte order), each once, at most ``sampleLimit``.
        var sample: [RecordKey] = []
        static let sampleLimit = 10

        mutating func merge(_ other: Duplicates) {
            count += other.count
            sample = Array((sample + other.sample).sorted().prefix(Self.sampleLimit))
        }

        /// Counts one more repeat of `key`, naming it in the sample when it is among the smallest.
        mutating func count(_ key: RecordKey) {
            count += 1
            guard !sample.contains(key) else { return }
            merge(Duplicates(count: 0, sample: [key]))
        }
    }

    /// Builds the set from buckets already split by shard (`buckets[lane][shard]`), one shard per task, on all
    /// cores, counting the keys that arrive more than once. The keys are moved out of the buckets, never copied (a
    /// copy would touch every key's heap object once more to retain it, and once more to release it).
    static func build(fromLanes lanes: consuming [[[RecordKey]]]) -> (set: RecordKeySet, duplicates: Duplicates) {
        let laneCount = lanes.count
        var flat: [[RecordKey]] = []
        flat.reserveCapacity(laneCount * shardCount)
        for lane in lanes { flat.append(contentsOf: lane) }
        var shards = [Set<RecordKey>](repeating: [], count: shardCount)
        var duplicates = [Duplicates](repeating: Duplicates(), count: shardCount)
        flat.withUnsafeMutableBufferPointer { buckets in
            shards.withUnsafeMutableBufferPointer { out in
                duplicates.withUnsafeMutableBufferPointer { extra in
                    let buckets = UnsafeSendable(buckets)
                    let out = UnsafeSendable(out)
                    let extra = UnsafeSendable(extra)
                    DispatchQueue.concurrentPerform(iterations: shardCount) { s in
                        var total = 0
                        for l in 0..<laneCount { total += buckets.value[l * shardCount + s].count }
                        var set = Set<RecordKey>(minimumCapacity: total)
                        var found = Duplicates()
                        for l in 0..<laneCount {
                            // This task alone touches index l * shardCount + s.
                            var bucket = (buckets.value.baseAddress! + l * shardCount + s).move()
                            (buckets.value.baseAddress! + l * shardCount + s).initialize(to: [])
                            // `update(with:)` moves the key in; `insert` would hand back a copy (a retain and a release).
                            while let key = bucket.popLast() {
                                // A key's repeats all fall in this shard: it is named once.
                                if let earlier = set.update(with: key) { found.count(earlier) }
                            }
                        }
                        out.value[s] = set
                        extra.value[s] = found
                    }
                }
            }
        }
        var all = Duplicates()
        for found in duplicates { all.merge(found) }
        return (RecordKeySet(shards: shards), all)
    }

    /// `body` applied to shard `s` of each of `sets` (all sets shard a key alike), for every shard, on all cores;
    /// the results in shard order. Comparing two sets shard by shard keeps each lookup in a table small enough for
    /// the cache, and uses every core.
    static func mapShards<R>(_ sets: [RecordKeySet], _ body: @Sendable ([Set<RecordKey>]) -> R) -> [R] {
        var results = [R?](repeating: nil, count: shardCount)
        results.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendable(out)
            let sets = UnsafeSendable(sets)
            DispatchQueue.concurrentPerform(iterations: shardCount) { s in
                out.value[s] = body(sets.value.map { $0.shards[s] })
            }
        }
        return results.map { $0! }
    }
}
