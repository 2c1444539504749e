import DurableIO
import Foundation
import Testing

/// A run holds a million keys in several sets at once (its inputs, the ledger, staging's recovery, the finalize's
/// census): each set that reads keys another already holds keeps that set's instance, so the bytes are held once.
/// The memory this saves is measured by `Scripts/benchmark-million.sh`; these tests check the sharing itself.
@Suite("Key sets share the keys they hold", .inATestSlot)
struct KeySharingTests {
    /// Where a key's bytes live: two keys that share storage share this address.
    private func storage(of key: RecordKey) -> UInt? {
        key.bytes.withUnsafeBufferPointer { $0.baseAddress.map { UInt(bitPattern: $0) } }
    }

    /// Keys the set holds, each made anew from the same bytes (never the set's instance).
    private func freshCopies(_ names: [String]) -> [RecordKey] { names.map { RecordKey(bytes: Array($0.utf8)) } }

    private let names = (0..<50).map { "inputs/clip_\($0).wav" }

    @Test func memberReturnsTheStoredInstance() throws {
        let held = RecordKeySet(freshCopies(names))
        for copy in freshCopies(names) {
            let member = try #require(held.member(equalTo: copy))
            #expect(member == copy)
            #expect(storage(of: member) != storage(of: copy))
            #expect(storage(of: member) == storage(of: held.member(equalTo: copy)!))
        }
        #expect(held.member(equalTo: "not/held") == nil)
    }

    @Test func recoveredLedgerKeepsTheSharedInstances() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("k.done")
        let writer = try KeyLedger.open(at: path)
        _ = try writer.insert(contentsOf: RecordKeySet(freshCopies(names + ["only/in/ledger"])))
        try writer.close()

        let inputs = RecordKeySet(freshCopies(names))
        let ledger = try KeyLedger.open(at: path, sharingKeysWith: inputs)
        defer { try? ledger.close() }
        #expect(ledger.keys.count == names.count + 1)
        for key in ledger.keys {
            if let input = inputs.member(equalTo: key) {
                #expect(storage(of: key) == storage(of: input), "\(key) is a second copy of an input key")
            } else {
                #expect(key == "only/in/ledger")
            }
        }
    }

    @Test func stagingAndCensusKeepTheSharedInstances() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("rows.jsonl")
        let rows = names.map { #"{"key":"\#($0)","n":1}"# }.joined(separator: "\n") + "\n"
        try Data(rows.utf8).write(to: URL(fileURLWithPath: path.string))
        let ledger = RecordKeySet(freshCopies(names))

        let census = try KeyCensus.scan(rowsAt: path, sharingKeysWith: ledger)
        let staging = try StagingFile.open(at: path, sharingKeysWith: ledger)
        defer { try? staging.close() }
        for keys in [census.keys, staging.recovery.keys] {
            #expect(keys.count == names.count)
            for key in keys { #expect(storage(of: key) == storage(of: ledger.member(equalTo: key)!)) }
        }
    }
}
