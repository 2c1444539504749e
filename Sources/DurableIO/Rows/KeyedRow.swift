import Foundation

/// A row of a staging or output file: one JSON object per line whose first field is its key,
/// `{"key":"clip_000017","frames":900,…}`.
///
/// ```swift
/// let row = try KeyedRow(key: "clip_000017", json: Array(#"{"frames": 900}"#.utf8))
/// print(String(decoding: row.line, as: UTF8.self))   // {"key":"clip_000017","frames": 900}
/// ```
public struct KeyedRow: Sendable, Equatable {
    /// The row's key.
    public var key: RecordKey
    /// The whole line as stored, without the newline: a JSON object with `"key"` first.
    public var line: [UInt8]

    /// Builds the stored line from a key and a row given as the bytes of a JSON object.
    ///
    /// The row's bytes are kept as they are (numbers are not re-rendered); only newlines and carriage returns,
    /// which in valid JSON can only be insignificant whitespace, are removed so the row fits on one line.
    ///
    /// - Throws: ``DurableIOError/Code/invalidInput`` when `json` is not a JSON object or already has a
    ///   `"key"` field. A message about bytes that are not JSON shows their size and first 60 bytes, escaped (what
    ///   an item command printed instead of a row).
    public init(key: RecordKey, json: [UInt8]) throws(DurableIOError) {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed]) } catch {
            throw DurableIOError(
                .invalidInput, operation: "stage row",
                message: "the row for key \(key) is not valid JSON: \(json.count.formatted()) byte\(json.count == 1 ? "" : "s"), starting \(ByteExcerpt.escaped(json))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw DurableIOError(.invalidInput, operation: "stage row", message: "the row for key \(key) is not a JSON object")
        }
        guard dictionary["key"] == nil else {
            throw DurableIOError(
                .invalidInput, operation: "stage row",
                message: "the row for key \(key) already has a field named \"key\"; rename it")
        }
        var body = json.filter { $0 != 0x0A && $0 != 0x0D }
        // Trim insignificant whitespace around the object, then drop its braces.
        while let first = body.first, first == 0x20 || first == 0x09 { body.removeFirst() }
        while let last = body.last, last == 0x20 || last == 0x09 { body.removeLast() }
        let inner = body.dropFirst().dropLast()
        var line = Array(#"{"key":"#.utf8) + key.jsonBytes
        if inner.contains(where: { $0 != 0x20 && $0 != 0x09 }) {
            line.append(UInt8(ascii: ","))
            line += inner
        }
        line.append(UInt8(ascii: "}"))
        self.key = key
        self.line = line
    }

    init(key: RecordKey, storedLine: [UInt8]) {
        self.key = key
        self.line = storedLine
    }

    /// The row's JSON object without the key field, decoded by Foundation.
    public func fields() throws -> [String: Any] {
        var object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] ?? [:]
        object["key"] = nil
        return object
    }

    /// Reads the key of a stored line, validating the whole line as a JSON object: the fast path for a line that
    /// starts `{"key":"…"` (the shape DurableIO writes), else Foundation.
    static func key(of line: UnsafeRawBufferPointer) -> Result<RecordKey, LineRejection> {
        if let key = fastKey(of: line) { return .success(key) }
        return foundationKey(of: line)
    }

    private static let prefix: [UInt8] = Array(#"{"key":"#.utf8)

    /// `{"key":"<string>"` then valid members (none named `key`) and `}`; `nil` declines.
    static func fastKey(of line: UnsafeRawBufferPointer) -> RecordKey? {
        let n = line.count
        guard n > prefix.count + 2, line[n - 1] == UInt8(ascii: "}") else { return nil }
        for i in 0..<prefix.count where line[i] != prefix[i] { return nil }
        guard let (bytes, next) = CanonicalJSON.parseString(line, from: prefix.count, end: n - 1),
            JSONValidator.validatesRemainingMembers(line, from: next, end: n - 1)
        else { return nil }
        return RecordKey(bytes: bytes)
    }

    /// Foundation's reading of a stored line.
    static func foundationKey(of line: UnsafeRawBufferPointer) -> Result<RecordKey, LineRejection> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            return .failure(LineRejection(reason: "not a JSON object"))
        }
        switch object["key"] {
        case let string as String: return .success(RecordKey(string))
        case let form as [String: Any]:
            if let b64 = form["base64"] as? String, let raw = Data(base64Encoded: b64) {
                return .success(RecordKey(bytes: Array(raw)))
            }
            return .failure(LineRejection(reason: "invalid base64 key"))
        default: return .failure(LineRejection(reason: "no \"key\" field"))
        }
    }
}
