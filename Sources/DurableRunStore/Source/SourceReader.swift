import Foundation

/// Reads the items of a source file, in order, handing each to a closure: CSV through yaslab/CSV.swift (a header
/// row, quoted fields, embedded newlines), JSONL with Foundation's JSON parser. Each item becomes a JSON object with
/// sorted keys; its key is the id column's value, or a JSON array of the values for a composite id.
///
/// A row with a missing or empty id, a CSV row with more or fewer fields than the header, or a JSONL line that is
/// not an object stops the read with ``DurableRunStoreError`` (`invalidSource`) naming the line — never its content.
/// So do the two CSV faults a CSV reader would otherwise read into wrong items: a quoted field that is never closed
/// (it would swallow every row after it into one field) and a header that names a column twice (one of the two
/// would be dropped); see `CSVQuoting`.
///
/// ```swift
/// try SourceReader.read(source) { key, json in print(key, json) }
/// ```
public enum SourceReader {
    /// Reads `source`, calling `body` with each item's key and JSON, in file order. The file is read a piece at a
    /// time (see `SourceCursor`): memory stays bounded whatever its size.
    public static func read(_ source: SourceFile, _ body: (_ key: String, _ json: String) throws -> Void) throws {
        var cursor = try SourceCursor(source)
        while let item = try cursor.next() { try body(item.key, item.json) }
    }

    /// The stored key of an item: the value itself, or a JSON array of the values for a composite id.
    public static func key(_ ids: [String]) -> String {
        if ids.count == 1 { return ids[0] }
        return json(ids)
    }

    /// The JSON text of `value`, keys sorted (package access: the SQLite store stores a source's id columns in it).
    package static func json(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    package static func unreadable(_ path: String) -> DurableRunStoreError {
        DurableRunStoreError(
            .invalidSource, operation: "ingest", message: "cannot read \(path)", hint: "Check the path and its permissions.")
    }

    package static func invalid(_ path: String, _ message: String, hint: String? = nil) -> DurableRunStoreError {
        DurableRunStoreError(
            .invalidSource, operation: "ingest", message: "\(path): \(message)",
            hint: hint ?? "Fix the file and ingest it again; nothing was stored.")
    }
}
