import DurableIOTesting
import Foundation
import Testing

@testable import DurableIO

@Suite("Fast path agrees with Foundation", .ownThreads, .inATestSlot)
struct FastPathFuzzTests {
    struct KeyLine: Decodable { var key: RecordKey }

    static let alphabet: [UInt8] =
        Array(#""\/bfnrtu0123456789abcdefABCDEF{}:,k e"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x8E, 0xAC, 0xFF, 0x5C]

    static func randomKey(_ rng: inout SplitMix) -> RecordKey {
        let scalars: [Unicode.Scalar] = (0..<Int.random(in: 0...12, using: &rng)).map { _ in
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: return Unicode.Scalar(UInt8.random(in: 0..<0x20, using: &rng))
            case 1: return ["\"", "\\", "/", "\u{7F}"].randomElement(using: &rng)!
            case 2: return Unicode.Scalar(UInt32.random(in: 0x80..<0xD800, using: &rng))!
            case 3: return Unicode.Scalar(UInt32.random(in: 0x10000...0x10FFFF, using: &rng))!
            default: return Unicode.Scalar(UInt8.random(in: 0x20..<0x7F, using: &rng))
            }
        }
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars)
        return RecordKey(s)
    }

    func foundation(_ line: [UInt8]) -> RecordKey? {
        try? JSONDecoder().decode(KeyLine.self, from: Data(line)).key
    }

    func fast(_ line: [UInt8]) -> RecordKey? {
        line.withUnsafeBytes { KeyLedger.fastParse($0) }
    }

    @Test func canonicalLinesParseOnTheFastPathToTheSameKeyAsFoundation() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix(state: seed)
        for _ in 0..<5_000 {
            let key = Self.randomKey(&rng)
            var line = KeyLedger.line(for: key)
            line.removeLast()  // the newline
            #expect(fast(line) == key, "seed \(seed)")
            #expect(foundation(line) == key, "seed \(seed)")
        }
    }

    @Test func mutatedLinesAreEitherDeclinedOrDecodedExactlyAsFoundationDoes() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix(state: seed)
        var accepted = 0
        var declined = 0
        for _ in 0..<20_000 {
            var line = KeyLedger.line(for: Self.randomKey(&rng))
            line.removeLast()
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let position = Int.random(in: 0...line.count, using: &rng)
                let byte = Self.alphabet.randomElement(using: &rng)!
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: line.insert(byte, at: position)
                case 1 where position < line.count: line.remove(at: position)
                default: if position < line.count { line[position] = byte }
                }
            }
            if let key = fast(line) {
                accepted += 1
                #expect(foundation(line) == key, "seed \(seed): \(line)")
            } else {
                declined += 1
            }
        }
        #expect(accepted > 1_000 && declined > 1_000, "the fuzz must exercise both outcomes (seed \(seed))")
    }

    // MARK: keyed rows (output and staging lines)

    static let rowAlphabet: [UInt8] = Array(#""\/{}[]:,.-+eE0123456789 tfnrulsa"#.utf8) + [0x00, 0x09, 0x0D, 0xC3, 0xA9, 0xFF]

    /// A random JSON value as text, nested up to `depth`.
    static func randomValue(_ rng: inout SplitMix, depth: Int) -> String {
        switch Int.random(in: 0..<(depth > 0 ? 9 : 7), using: &rng) {
        case 0: return "true"
        case 1: return "false"
        case 2: return "null"
        case 3: return String(Int.random(in: -1_000_000...1_000_000, using: &rng))
        case 4: return ["0.5", "-0", "1e5", "2.5E-3", "123456789012345", "1.0e+12", "-0.0001"].randomElement(using: &rng)!
        case 5, 6:
            var out: [UInt8] = []
            CanonicalJSON.appendString(randomKey(&rng).bytes, to: &out)
            return String(decoding: out, as: UTF8.self)
        case 7:
            let items = (0..<Int.random(in: 0...3, using: &rng)).map { _ in randomValue(&rng, depth: depth - 1) }
            return "[" + items.joined(separator: ",") + "]"
        default:
            let members = (0..<Int.random(in: 0...3, using: &rng)).map { i in "\"m\(i)\": " + randomValue(&rng, depth: depth - 1) }
            return "{" + members.joined(separator: ", ") + "}"
        }
    }

    static func randomRow(_ rng: inout SplitMix) -> [UInt8] {
        let members = (0..<Int.random(in: 0...4, using: &rng)).map { i in "\"f\(i)\":" + randomValue(&rng, depth: 2) }
        let json = "{" + members.joined(separator: ",") + "}"
        return try! KeyedRow(key: randomKey(&rng), json: Array(json.utf8)).line
    }

    func foundationRowKey(_ line: [UInt8]) -> RecordKey? {
        guard case .success(let key) = line.withUnsafeBytes({ KeyedRow.foundationKey(of: $0) }) else { return nil }
        return key
    }

    func fastRowKey(_ line: [UInt8]) -> RecordKey? { line.withUnsafeBytes { KeyedRow.fastKey(of: $0) } }

    @Test func rowsParseOnTheFastPathToTheSameKeyAsFoundation() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix(state: seed)
        for _ in 0..<5_000 {
            let line = Self.randomRow(&rng)
            let expected = foundationRowKey(line)
            #expect(expected != nil, "seed \(seed)")
            #expect(fastRowKey(line) == expected, "seed \(seed): \(String(decoding: line, as: UTF8.self))")
        }
    }

    @Test func mutatedRowsAreEitherDeclinedOrReadExactlyAsFoundationDoes() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix(state: seed)
        var accepted = 0
        var declined = 0
        for _ in 0..<20_000 {
            var line = Self.randomRow(&rng)
            for _ in 0..<Int.random(in: 1...2, using: &rng) {
                // Mutate after the key's opening, so the fast path is attempted.
                let position = Int.random(in: 8...line.count, using: &rng)
                let byte = Self.rowAlphabet.randomElement(using: &rng)!
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: line.insert(byte, at: position)
                case 1 where position < line.count: line.remove(at: position)
                default: if position < line.count { line[position] = byte }
                }
            }
            if let key = fastRowKey(line) {
                accepted += 1
                #expect(foundationRowKey(line) == key, "seed \(seed): \(String(decoding: line, as: UTF8.self))")
            } else {
                declined += 1
            }
        }
        #expect(accepted > 1_000 && declined > 1_000, "the fuzz must exercise both outcomes (seed \(seed)): \(accepted) accepted, \(declined) declined")
    }
}
