import DurableIO
import Foundation
import Testing

@Suite("Keys are bytes", .inATestSlot)
struct KeyTests {
    @Test func canonicallyEquivalentStringsAreDistinctKeys() throws {
        let composed: RecordKey = "caf\u{E9}"
        let decomposed: RecordKey = "cafe\u{301}"
        #expect("caf\u{E9}" == "cafe\u{301}")  // what String would do
        #expect(composed != decomposed)
        let dir = TemporaryDirectory()
        let path = dir.file("k.done")
        let ledger = try KeyLedger.open(at: path)
        #expect(try ledger.insert(composed))
        #expect(try ledger.insert(decomposed))
        try ledger.close()
        #expect(try KeyLedger.recover(at: path).keys == [composed, decomposed])
    }

    @Test func aKeyThatIsNotUTF8RoundTripsAsBase64() throws {
        let raw = RecordKey(bytes: [0x66, 0xFF, 0x0A, 0x00])
        #expect(raw.string == nil)
        #expect(raw.description == "base64:Zv8KAA==")
        let dir = TemporaryDirectory()
        let path = dir.file("k.done")
        let ledger = try KeyLedger.open(at: path)
        try ledger.insert(raw)
        try ledger.close()
        #expect(readText(path) == #"{"key":{"base64":"Zv8KAA=="}}"# + "\n")
        #expect(try KeyLedger.recover(at: path).keys == [raw])
    }

    @Test func escapesRoundTrip() throws {
        let tricky: [RecordKey] = ["a\"b", "back\\slash", "tab\there", "nl\nx", "ctl\u{1}", "emoji 🎬", "slash/ok", "\u{7F}"]
        let dir = TemporaryDirectory()
        let path = dir.file("k.done")
        let ledger = try KeyLedger.open(at: path)
        try ledger.insert(contentsOf: tricky)
        try ledger.close()
        #expect(readText(path).split(separator: "\n").count == tricky.count)
        #expect(try KeyLedger.recover(at: path).keys == RecordKeySet(tricky))
    }
}

@Suite("RecordKeySet", .inATestSlot)
struct RecordKeySetTests {
    @Test func behavesAsASet() {
        var a = RecordKeySet((0..<1000).map { RecordKey("k\($0)") })
        let b = RecordKeySet((500..<1500).map { RecordKey("k\($0)") })
        #expect(a.count == 1000 && !a.isEmpty && RecordKeySet().isEmpty)
        #expect(a.union(b).count == 1500)
        #expect(a.subtracting(b).count == 500)
        #expect(a.intersection(b).count == 500)
        #expect(a.intersection(b).isSubset(of: a) && !a.isSubset(of: b))
        #expect(Array(a).count == 1000 && Set(a.map(\.bytes)).count == 1000)
        #expect(a.insert("k1") == false && a.insert("new") == true && a.count == 1001)
        #expect(a.remove("new") && !a.contains("new"))
        #expect(a == RecordKeySet((0..<1000).reversed().map { RecordKey("k\($0)") }))
    }
}
