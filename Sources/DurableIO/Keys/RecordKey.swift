import Foundation

/// The key of a row: raw bytes, compared byte for byte.
///
/// Keys are bytes, not `String`s: Swift's `String` equality merges canonically equivalent forms
/// (`"caf\u{E9}" == "cafe\u{301}"`), which would collapse two distinct file names into one key, and file
/// names on Linux need not be UTF-8 at all. A `RecordKey` is equal to another only when their bytes are.
///
/// In JSON a key is a string when its bytes are valid UTF-8 (the string's exact code points, never
/// normalised), and otherwise an object `{"base64":"…"}` holding the bytes in standard Base64 — reversible,
/// and distinct from every string key.
///
/// ```swift
/// let a: RecordKey = "caf\u{E9}"
/// let b: RecordKey = "cafe\u{301}"
/// assert(a != b)                       // different bytes, different keys
/// let raw = RecordKey(bytes: [0x66, 0xFF])   // not UTF-8: encoded as {"base64":"Zv8="}
/// ```
public struct RecordKey: Hashable, Sendable, Comparable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The key's bytes.
    public let bytes: [UInt8]
    /// The bytes' hash (Swift's seeded `Hasher`, this process's seed), computed once when the key is made, on
    /// the thread that made it while the bytes are in cache. Set operations then touch the byte buffer only when
    /// two hashes match. Never persisted.
    let fingerprint: Int

    /// A key from raw bytes.
    public init(bytes: [UInt8]) {
        self.bytes = bytes
        var hasher = Hasher()
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        self.fingerprint = hasher.finalize()
    }

    /// A key from the UTF-8 bytes of `string`, exactly as stored (no normalisation).
    public init(_ string: String) { self.init(bytes: Array(string.utf8)) }

    /// A key from a string literal.
    public init(stringLiteral value: String) { self.init(value) }

    /// The key as a `String` when its bytes are valid UTF-8, else `nil`.
    public var string: String? { String(validating: bytes, as: UTF8.self) }

    /// The key for messages: the string, or `base64:…` for bytes that are not UTF-8.
    public var description: String {
        string ?? "base64:" + Data(bytes).base64EncodedString()
    }

    public static func < (lhs: RecordKey, rhs: RecordKey) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fingerprint)
    }

    public static func == (lhs: RecordKey, rhs: RecordKey) -> Bool {
        lhs.fingerprint == rhs.fingerprint && lhs.bytes == rhs.bytes
    }

    private struct Base64Form: Codable { var base64: String }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            self.init(string)
            return
        }
        let form = try container.decode(Base64Form.self)
        guard let data = Data(base64Encoded: form.base64) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid base64 key")
        }
        self.init(bytes: Array(data))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let string { try container.encode(string) } else {
            try container.encode(Base64Form(base64: Data(bytes).base64EncodedString()))
        }
    }

    /// The key as JSON text: a canonical string literal, or the `{"base64":"…"}` object.
    package var jsonBytes: [UInt8] {
        if string != nil {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 2)
            CanonicalJSON.appendString(bytes, to: &out)
            return out
        }
        return Array("{\"base64\":\"\(Data(bytes).base64EncodedString())\"}".utf8)
    }
}
