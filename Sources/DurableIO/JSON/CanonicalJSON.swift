/// The one shape in which DurableIO writes JSON strings, and a strict parser for exactly that shape.
///
/// Writing: `"` and `\` are escaped as `\"` and `\\`; control characters as `\b \f \n \r \t` or `\u00XX`;
/// everything else (all other ASCII, and valid UTF-8) is written as is.
///
/// Reading (the fast path of recovery): a string literal under the full JSON rules — every escape including
/// `\/` and `\uHHHH` (four hex digits) with surrogate pairs, no raw control characters, valid UTF-8. Whatever it does not fully
/// recognise it declines (returns `nil`), and the caller hands the line to Foundation's decoder; so correctness
/// never depends on this parser, only speed does. Fuzzed against Foundation in the tests.
enum CanonicalJSON {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `bytes` (valid UTF-8) as a JSON string literal.
    static func appendString(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
            case 0..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Parses a JSON string literal starting at `start` (which must be `"`).
    ///
    /// - Returns: the decoded UTF-8 bytes and the index just past the closing quote, or `nil` to decline.
    static func parseString(_ buf: UnsafeRawBufferPointer, from start: Int, end: Int) -> (bytes: [UInt8], next: Int)? {
        guard start < end, buf[start] == UInt8(ascii: "\"") else { return nil }
        var i = start + 1
        // The common case: no escape before the closing quote, one allocation.
        var j = i
        var plainNonASCII = false
        while j < end {
            let b = buf[j]
            if b == UInt8(ascii: "\"") {
                let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: buf[i..<j]))
                if plainNonASCII && !isValidUTF8(bytes) { return nil }
                return (bytes, j + 1)
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { return nil }
            if b >= 0x80 { plainNonASCII = true }
            j += 1
        }
        if j >= end { return nil }
        var runStart = i
        var out: [UInt8] = []
        var sawNonASCII = false
        while i < end {
            let b = buf[i]
            if b == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[runStart..<i]))
                if sawNonASCII && !isValidUTF8(out) { return nil }
                return (out, i + 1)
            }
            if b < 0x20 { return nil }
            if b >= 0x80 { sawNonASCII = true }
            if b == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[runStart..<i]))
                guard i + 1 < end else { return nil }
                let e = buf[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard let unit = hex4(buf, i, end) else { return nil }
                    i += 4
                    var scalar = UInt32(unit)
                    if (0xD800..<0xDC00).contains(unit) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        guard i + 1 < end, buf[i] == UInt8(ascii: "\\"), buf[i + 1] == UInt8(ascii: "u"),
                            let low = hex4(buf, i + 2, end), (0xDC00..<0xE000).contains(low)
                        else { return nil }
                        i += 6
                        scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(unit) {
                        return nil
                    }
                    appendUTF8(scalar, to: &out)
                default: return nil
                }
                runStart = i
                continue
            }
            i += 1
        }
        return nil
    }

    private static func hex4(_ buf: UnsafeRawBufferPointer, _ at: Int, _ end: Int) -> UInt16? {
        guard at + 4 <= end else { return nil }
        var v: UInt16 = 0
        for k in 0..<4 {
            let c = buf[at + k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt16(d)
        }
        return v
    }

    private static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80: out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (scalar >> 6)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (scalar >> 12)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (scalar >> 18)))
            out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }
}
