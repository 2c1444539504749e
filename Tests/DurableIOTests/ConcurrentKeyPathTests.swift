import DurableIO
import DurableRun
import Foundation
import Synchronization
import SystemPackage
import Testing

/// The paths a million-input run takes on all cores — the inputs cut into pieces, key sets gathered shard by
/// shard, the accounting compared shard by shard — give what the plain one-thread computation gives. Each test is
/// sized past the point where the concurrent path takes over (64 Ki keys, 1 MiB of list, 256 KiB chunks).
@Suite("Concurrent key paths agree with the plain ones", .inATestSlot)
struct ConcurrentKeyPathTests {
    /// `count` keys `k…` drawn from `0..<range` by a fixed generator: repeats included when `range < count`.
    static func keys(_ count: Int, range: Int, seed: UInt64) -> [RecordKey] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return RecordKey(String(format: "k%07d", Int(state >> 33) % range))
        }
    }

    @Test func gatheringCountsWhatRepeats() {
        let keys = Self.keys(150_000, range: 120_000, seed: 1)
        let plain = Set(keys)
        let (gathered, repeated) = RecordKeySet.gathering(keys)
        #expect(gathered.count == plain.count)
        #expect(repeated == keys.count - plain.count && repeated > 0)
        #expect(Set(gathered) == plain)
    }

    @Test func filteringConcurrentlyKeepsOrder() {
        let keys = Self.keys(150_000, range: 1_000_000, seed: 2)
        let done = RecordKeySet(keys.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
        let pending = keys.filteredConcurrently { !done.contains($0) }
        #expect(pending == keys.filter { !done.contains($0) })
    }

    @Test("Reconciling against output and staging, shard by shard, counts and names what the union would")
    func reconcilingAgainstTwoParts() throws {
        let ledger = Self.keys(90_000, range: 100_000, seed: 3)
        let output = Self.keys(70_000, range: 100_000, seed: 4)
        let staging = Self.keys(40_000, range: 110_000, seed: 5)  // some beyond the ledger's range: unexpected
        let (l, o, s) = (Set(ledger), Set(output), Set(staging))
        let present = o.union(s)
        let result = RowAccounting.reconcile(ledger: RecordKeySet(l), presentIn: [RecordKeySet(o), RecordKeySet(s)], duplicateCount: 7)
        #expect(result.ledgerCount == l.count && result.presentCount == present.count && result.duplicateCount == 7)
        #expect(result.missingCount == l.subtracting(present).count && result.missingCount > 0)
        #expect(result.sampleMissing == Array(l.subtracting(present).sorted().prefix(5)))
        #expect(result.unexpectedCount == present.subtracting(l).count && result.unexpectedCount > 0)
        #expect(result.sampleUnexpected == Array(present.subtracting(l).sorted().prefix(5)))
        // The public form, against the union built by hand, agrees.
        #expect(RowAccounting.reconcile(ledger: RecordKeySet(l), present: RecordKeySet(present), duplicateCount: 7) == result)
        // Nothing missing, nothing unexpected: the counts alone, no second pass.
        let whole = RowAccounting.reconcile(ledger: RecordKeySet(present), presentIn: [RecordKeySet(o), RecordKeySet(s)], duplicateCount: 0)
        #expect(whole.isConsistent && whole.unexpectedCount == 0 && whole.presentCount == present.count)
    }

    @Test("A JSON Lines census read on all cores counts duplicates and names the smallest ten")
    func censusOfALargeFile() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("rows.jsonl")
        let keys = Self.keys(60_000, range: 50_000, seed: 6)
        var text = ""
        for (i, key) in keys.enumerated() { text += #"{"key":"\#(key.string!)","v":\#(i)}"# + "\n" }
        text += "{not json}\n"
        writeRaw(text, to: path)
        #expect(text.utf8.count > 1 << 20)
        let census = try KeyCensus.scan(rowsAt: path)
        var seen = Set<RecordKey>()
        let duplicated = keys.filter { !seen.insert($0).inserted }
        #expect(census.rowCount == keys.count && census.keys.count == seen.count)
        #expect(census.duplicateCount == duplicated.count)
        #expect(census.sampleDuplicates == Array(Set(duplicated).sorted().prefix(10)))
        #expect(census.report.malformedLineCount == 1 && census.report.malformedLines.first?.lineNumber == keys.count + 1)
    }

    @Test("An input list past 1 MiB is cut at newlines: every line once, in order, blank lines and \\r dropped")
    func largeInputList() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("list")
        var lines: [String] = []
        var text = ""
        for i in 0..<80_000 {
            let line = "data/d\(i % 97)/clip_\(i).wav"
            lines.append(line)
            text += line + (i % 5 == 0 ? "\r\n" : "\n") + (i % 7 == 0 ? "\n" : "")
        }
        writeRaw(String(text.dropLast()), to: path)  // the last line without its newline
        #expect(text.utf8.count > 1 << 20)
        let inputs = try ExtractionInputs.list(at: path)
        #expect(inputs.keys == lines.map { RecordKey($0) })
        #expect(inputs.candidates == lines.count)
    }
}

/// What a million-key phase frees on its parsing threads goes back to the system before the next phase builds its
/// tables (`FreedMemory`): measured on this process's resident memory.
@Suite("Freed memory is handed back", .inATestSlot)
struct FreedMemoryTests {
    /// This process's resident memory, in bytes (`/proc/self/statm`).
    static func resident() -> Int {
        let fields = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?.split(separator: " ") ?? []
        return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test func theFreedPagesOfAnotherThreadsArenaLeaveTheProcess() throws {
        // 256 MB in 80-byte keys, made and let go on a thread of its own (its own malloc arena), as a parse lane does.
        // Measured from while they are held: another test's release may come first, and then this one's finds less.
        let made = DispatchSemaphore(value: 0)
        let measured = DispatchSemaphore(value: 0)
        let freed = DispatchSemaphore(value: 0)
        let held = Mutex<Int>(0)
        Thread.detachNewThread {
            var keys: [RecordKey] = []
            keys.reserveCapacity(3_200_000)
            for i in 0..<3_200_000 { keys.append(RecordKey(bytes: [UInt8](repeating: UInt8(i & 0x7F), count: 40))) }
            held.withLock { $0 = keys.count }
            made.signal()
            measured.wait()
            keys = []
            freed.signal()
        }
        made.wait()
        let whileHeld = Self.resident()
        measured.signal()
        freed.wait()
        #expect(held.withLock { $0 } == 3_200_000)
        FreedMemory.release()
        let after = Self.resident()
        #expect(whileHeld - after > 128 << 20, "resident \(whileHeld >> 20) MB while held, \(after >> 20) MB after the release")
    }
}
