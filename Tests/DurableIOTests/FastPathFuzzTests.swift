import DurableIOTesting
import Foundation
import Testing

@testable import DurableIO

@Suite("Fast path agrees with Foundation")
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
}
