import Foundation

/// Why a line was rejected, without its content.
struct LineRejection: Error {
    var reason: String
}

/// Parses the lines of a file on several cores.
///
/// Each chunk of complete lines is cut at newlines into one piece per lane; lane `k` parses piece `k` of every
/// chunk on its own thread and feeds what it parses to its own accumulator, so lanes never share state. Callers
/// that need file order accumulate per chunk and concatenate lanes in order; callers that do not (key sets)
/// keep their accumulators across chunks.
package enum ChunkParser {
    /// The lines a lane saw in one piece: how many, and which were rejected.
    struct PieceStats {
        var rejected: [(lineIndex: Int, offset: Int, length: Int, reason: String)] = []
        var lineCount = 0
    }

    /// Parses `chunk` into `lanes` (one accumulator per lane) and returns each piece's statistics, in order.
    static func parse<T, A>(
        _ chunk: UnsafeRawBufferPointer, lanes: inout [A],
        parsers: [(UnsafeRawBufferPointer) -> Result<T, LineRejection>], accumulate: @escaping (inout A, T) -> Void
    ) -> [PieceStats] {
        let wanted = chunk.count < 256 * 1024 ? 1 : lanes.count
        var cuts = [0]
        for k in 1..<max(wanted, 1) {
            var cut = chunk.count * k / wanted
            while cut < chunk.count && chunk[cut - 1] != 0x0A { cut += 1 }
            if cut > cuts.last! && cut < chunk.count { cuts.append(cut) }
        }
        cuts.append(chunk.count)
        let bounds = cuts
        let pieces = bounds.count - 1
        var stats = [PieceStats](repeating: PieceStats(), count: pieces)
        lanes.withUnsafeMutableBufferPointer { laneBuffer in
            stats.withUnsafeMutableBufferPointer { statBuffer in
                let lanes = UnsafeSendable(laneBuffer)
                let stats = UnsafeSendable(statBuffer)
                let input = UnsafeSendable(chunk)
                let parsers = UnsafeSendable(parsers)
                let accumulate = UnsafeSendable(accumulate)
                let work: @Sendable (Int) -> Void = { k in
                    let piece = UnsafeRawBufferPointer(rebasing: input.value[bounds[k]..<bounds[k + 1]])
                    let parse = parsers.value[k]
                    var pieceStats = PieceStats()
                    try? piece.forEachLine { line, offset in
                        switch parse(line) {
                        case .success(let value): accumulate.value(&lanes.value[k], value)
                        case .failure(let rejection):
                            pieceStats.rejected.append((pieceStats.lineCount, bounds[k] + offset, line.count, rejection.reason))
                        }
                        pieceStats.lineCount += 1
                    }
                    stats.value[k] = pieceStats
                }
                if pieces == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: pieces, execute: work) }
            }
        }
        return stats
    }

    /// Numbers lines across the whole file and records the rejected ones in `tally`.
    static func count(_ stats: [PieceStats], chunkOffset: Int64, lineBase: inout Int, tally: inout RecoveryTally) {
        for piece in stats {
            tally.valid += piece.lineCount - piece.rejected.count
            for r in piece.rejected {
                tally.recordMalformed(
                    lineNumber: lineBase + r.lineIndex + 1, offset: chunkOffset + Int64(r.offset), length: r.length,
                    reason: r.reason)
            }
            lineBase += piece.lineCount
        }
    }

    /// Reads every complete line of a file, keeping file order: `sink` receives the values in order.
    static func recover<T>(
        _ lines: LineFile, layout: FileLayout, maxListed: Int,
        makeParser: () -> (UnsafeRawBufferPointer) -> Result<T, LineRejection>, sink: (T) -> Void
    ) throws(DurableIOError) -> RecoveryTally {
        var tally = RecoveryTally(maxListed: maxListed)
        var lineBase = 0
        let parsers = (0..<recoveryParallelism).map { _ in makeParser() }
        try lines.forEachChunk(upTo: layout.validLength) { chunk, offset in
            var lanes = [[T]](repeating: [], count: recoveryParallelism)
            let stats = parse(chunk, lanes: &lanes, parsers: parsers) { $0.append($1) }
            for lane in lanes { for value in lane { sink(value) } }
            count(stats, chunkOffset: offset, lineBase: &lineBase, tally: &tally)
        }
        return tally
    }

    /// The values `parse` makes of the lines of `text`, in order, parsed on several cores as a file's chunk is; a
    /// last line without its newline counts, and a line `parse` makes nothing of is left out. For a file already in
    /// memory (an input list).
    package static func values<T>(
        ofLinesIn text: UnsafeRawBufferPointer, _ parse: @escaping (UnsafeRawBufferPointer) -> T?
    ) -> [T] {
        let terminated = text.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        let parser = { (line: UnsafeRawBufferPointer) -> Result<T, LineRejection> in
            parse(line).map(Result.success) ?? .failure(LineRejection(reason: "no value"))
        }
        var lanes = [[T]](repeating: [], count: recoveryParallelism)
        _ = Self.parse(
            UnsafeRawBufferPointer(rebasing: text[..<terminated]), lanes: &lanes,
            parsers: Array(repeating: parser, count: recoveryParallelism)) { $0.append($1) }
        var values = Array(lanes.joined())
        if terminated < text.count, let last = parse(UnsafeRawBufferPointer(rebasing: text[terminated...])) {
            values.append(last)
        }
        return values
    }

    /// Reads every complete line of a file into a ``RecordKeySet``, order not kept: each lane splits its keys
    /// by shard as it parses, then the shards are built on all cores. Keys on more than one line are counted in
    /// the duplicates.
    static func recoverKeys(
        _ lines: LineFile, layout: FileLayout, maxListed: Int,
        makeParser: () -> (UnsafeRawBufferPointer) -> Result<RecordKey, LineRejection>
    ) throws(DurableIOError) -> (RecordKeySet, RecordKeySet.Duplicates, RecoveryTally) {
        var tally = RecoveryTally(maxListed: maxListed)
        var lineBase = 0
        let parsers = (0..<recoveryParallelism).map { _ in makeParser() }
        // Size the buckets from the file (lines of ~20 bytes or more), so they do not grow by copying.
        let expected = Int(layout.validLength / 20) / (RecordKeySet.shardCount * recoveryParallelism) + 16
        var lanes = (0..<recoveryParallelism).map { _ in
            (0..<RecordKeySet.shardCount).map { _ in
                var bucket: [RecordKey] = []
                bucket.reserveCapacity(expected)
                return bucket
            }
        }
        try lines.forEachChunk(upTo: layout.validLength) { chunk, offset in
            let stats = parse(chunk, lanes: &lanes, parsers: parsers) { $0[RecordKeySet.shard(of: $1)].append($1) }
            count(stats, chunkOffset: offset, lineBase: &lineBase, tally: &tally)
        }
        let (keys, duplicates) = RecordKeySet.build(fromLanes: lanes)
        return (keys, duplicates, tally)
    }
}

/// How many threads recovery parses on.
let recoveryParallelism = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
