/// A strict JSON validator for the fast path of reading keyed rows: it accepts only what RFC 8259 allows and what
/// Foundation's parser reads the same way, and declines (returns `false`) anything else — deep nesting, long
/// numbers, bytes it does not expect — so the caller hands the line to Foundation. Correctness never depends on
/// it, only speed does (a 152,265-row output is read ~10× faster). Fuzzed against Foundation in the tests.
struct JSONValidator {
    private let buf: UnsafeRawBufferPointer
    private let end: Int
    private var i: Int
    private var depth = 0

    private static let maxDepth = 64

    /// Validates `buf[start..<end]` as the members of an object — `"name":value` pairs separated by commas,
    /// after a first member already read — where no member is named `key`. `start` is just past that first
    /// member; `end` is the index of the closing `}`.
    static func validatesRemainingMembers(_ buf: UnsafeRawBufferPointer, from start: Int, end: Int) -> Bool {
        var validator = JSONValidator(buf: buf, end: end, i: start)
        validator.skipSpace()
        while validator.i < end {
            guard validator.take(UInt8(ascii: ",")) else { return false }
            validator.skipSpace()
            guard let (name, next) = CanonicalJSON.parseString(buf, from: validator.i, end: end), name != keyName else {
                return false
            }
            validator.i = next
            validator.skipSpace()
            guard validator.take(UInt8(ascii: ":")), validator.value() else { return false }
            validator.skipSpace()
        }
        return validator.i == end
    }

    private static let keyName: [UInt8] = Array("key".utf8)

    private mutating func skipSpace() {
        while i < end, buf[i] == 0x20 || buf[i] == 0x09 || buf[i] == 0x0D { i += 1 }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard i < end, buf[i] == byte else { return false }
        i += 1
        return true
    }

    private mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard i + count <= end else { return false }
        for k in 0..<count where buf[i + k] != text.utf8Start[k] { return false }
        i += count
        return true
    }

    private mutating func value() -> Bool {
        skipSpace()
        guard i < end else { return false }
        switch buf[i] {
        case UInt8(ascii: "\""):
            guard let (_, next) = CanonicalJSON.parseString(buf, from: i, end: end) else { return false }
            i = next
            return true
        case UInt8(ascii: "{"): return container(close: UInt8(ascii: "}"), members: true)
        case UInt8(ascii: "["): return container(close: UInt8(ascii: "]"), members: false)
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    private mutating func container(close: UInt8, members: Bool) -> Bool {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return false }
        i += 1
        skipSpace()
        if take(close) { return true }
        while true {
            if members {
                skipSpace()
                guard let (_, next) = CanonicalJSON.parseString(buf, from: i, end: end) else { return false }
                i = next
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return false }
            }
            guard value() else { return false }
            skipSpace()
            if take(close) { return true }
            guard take(UInt8(ascii: ",")) else { return false }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, declining more than 15 digits or an exponent over two
    /// digits (where parsers may differ on range and rounding).
    private mutating func number() -> Bool {
        var digits = 0
        _ = take(UInt8(ascii: "-"))
        guard i < end else { return false }
        if buf[i] == UInt8(ascii: "0") {
            i += 1
            digits += 1
        } else {
            guard isDigit(buf[i]) else { return false }
            while i < end, isDigit(buf[i]) { i += 1; digits += 1 }
        }
        if take(UInt8(ascii: ".")) {
            guard i < end, isDigit(buf[i]) else { return false }
            while i < end, isDigit(buf[i]) { i += 1; digits += 1 }
        }
        if i < end, buf[i] == UInt8(ascii: "e") || buf[i] == UInt8(ascii: "E") {
            i += 1
            if i < end, buf[i] == UInt8(ascii: "+") || buf[i] == UInt8(ascii: "-") { i += 1 }
            var exponent = 0
            while i < end, isDigit(buf[i]) { i += 1; exponent += 1 }
            guard exponent >= 1 && exponent <= 2 else { return false }
        }
        return digits <= 15
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
