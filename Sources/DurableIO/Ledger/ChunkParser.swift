import Foundation

/// Why a line was rejected, without its content.
struct LineRejection: Error {
    var reason: String
}

/// Parses the lines of a chunk on several cores, in order.
enum ChunkParser {
    struct Part<T> {
        var values: [T] = []
        var rejected: [(lineIndex: Int, offset: Int, length: Int, reason: String)] = []
        var lineCount = 0
    }

    /// Splits `chunk` (complete lines) into `parts` pieces at newlines and parses each on its own thread.
    ///
    /// - Parameters:
    ///   - makeParser: called once per piece (so each thread has its own decoder).
    /// - Returns: the pieces in file order.
    static func parse<T>(
        _ chunk: UnsafeRawBufferPointer, parts wanted: Int,
        makeParser: () -> (UnsafeRawBufferPointer) -> Result<T, LineRejection>
    ) -> [Part<T>] {
        // Cut points at newlines.
        var bounds = [0]
        let parts = chunk.count < 256 * 1024 ? 1 : max(1, wanted)
        for k in 1..<max(parts, 1) {
            var cut = chunk.count * k / parts
            while cut < chunk.count && chunk[cut - 1] != 0x0A { cut += 1 }
            if cut > bounds.last! && cut < chunk.count { bounds.append(cut) }
        }
        bounds.append(chunk.count)
        let pieces = bounds.count - 1
        let parsers = (0..<pieces).map { _ in makeParser() }
        var results = [Part<T>](repeating: Part(), count: pieces)
        results.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendable(out)
            let parsers = UnsafeSendable(parsers)
            let whole = UnsafeSendable(chunk)
            let bounds = bounds
            let work: @Sendable (Int) -> Void = { k in
                let piece = UnsafeRawBufferPointer(rebasing: whole.value[bounds[k]..<bounds[k + 1]])
                var part = Part<T>()
                let parse = parsers.value[k]
                try? piece.forEachLine { line, offset in
                    switch parse(line) {
                    case .success(let value): part.values.append(value)
                    case .failure(let rejection):
                        part.rejected.append((part.lineCount, bounds[k] + offset, line.count, rejection.reason))
                    }
                    part.lineCount += 1
                }
                out.value[k] = part
            }
            if pieces == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: pieces, execute: work) }
        }
        return results
    }

    /// Feeds parsed pieces to a tally and a sink, numbering lines across the whole file.
    static func merge<T>(
        _ parts: [Part<T>], chunkOffset: Int64, lineBase: inout Int, tally: inout RecoveryTally, sink: (T) -> Void
    ) {
        for part in parts {
            for value in part.values { sink(value) }
            tally.valid += part.values.count
            for r in part.rejected {
                tally.recordMalformed(
                    lineNumber: lineBase + r.lineIndex + 1, offset: chunkOffset + Int64(r.offset), length: r.length,
                    reason: r.reason)
            }
            lineBase += part.lineCount
        }
    }

    /// Reads every complete line of a file through `makeParser`, on `parts` threads.
    static func recover<T>(
        _ lines: LineFile, layout: FileLayout, parts: Int, maxListed: Int,
        makeParser: () -> (UnsafeRawBufferPointer) -> Result<T, LineRejection>, sink: (T) -> Void
    ) throws(DurableIOError) -> RecoveryTally {
        var tally = RecoveryTally(maxListed: maxListed)
        var lineBase = 0
        try lines.forEachChunk(upTo: layout.validLength) { chunk, offset in
            let parsed = parse(chunk, parts: parts, makeParser: makeParser)
            merge(parsed, chunkOffset: offset, lineBase: &lineBase, tally: &tally, sink: sink)
        }
        return tally
    }
}

/// Carries a value the caller has made safe to share across the threads of one `concurrentPerform`.
struct UnsafeSendable<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// How many threads recovery parses on.
let recoveryParallelism = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
