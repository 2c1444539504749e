import CSV
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
    /// Reads `source`, calling `body` with each item's key and JSON, in file order.
    public static func read(_ source: SourceFile, _ body: (_ key: String, _ json: String) throws -> Void) throws {
        switch source.format {
        case .csv: try readCSV(source, body)
        case .jsonl: try readJSONL(source, body)
        }
    }

    private static func readCSV(_ source: SourceFile, _ body: (String, String) throws -> Void) throws {
        // Read whole (a source of ~100k items is tens of MB): CSV.swift's stream input reports the end of the file
        // as `cannotReadFile`, indistinguishable from a read error; from a string, an error is an error.
        guard let data = FileManager.default.contents(atPath: source.path) else { throw unreadable(source.path) }
        guard let text = String(data: data, encoding: .utf8) else { throw invalid(source.path, "the file is not valid UTF-8") }
        if let fault = CSVQuoting.firstFault(in: data) { throw invalid(source.path, fault.description, hint: fault.hint) }
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw invalid(source.path, "no header row could be read (\(error))")
        }
        let header = reader.headerRow ?? []
        if let duplicate = firstDuplicate(in: header) {
            throw invalid(
                source.path,
                "the header names column '\(header[duplicate.first])' twice (columns \(duplicate.first + 1) and \(duplicate.second + 1)); one of them would be dropped",
                hint: "Rename one of the two columns, then ingest again; nothing was stored.")
        }
        let positions = try source.idColumns.map { column in
            guard let index = header.firstIndex(of: column) else {
                throw invalid(
                    source.path, "the id column '\(column)' is not in the header",
                    hint: "Columns: \(header.prefix(20).joined(separator: ", ")).")
            }
            return index
        }
        var row = 1  // the header is row 1
        while let fields = reader.next() {
            row += 1
            if fields.count == 1 && fields[0].isEmpty { continue }  // a blank line
            guard fields.count == header.count else {
                throw invalid(source.path, "row \(row) has \(fields.count) fields, the header has \(header.count)")
            }
            let ids = positions.map { fields[$0] }
            if let empty = ids.firstIndex(where: { $0.isEmpty }) {
                throw invalid(source.path, "row \(row) has an empty id ('\(source.idColumns[empty])')")
            }
            var object: [String: String] = [:]
            for (name, value) in zip(header, fields) { object[name] = value }
            try body(key(ids), json(object))
        }
        if let error = reader.error { throw invalid(source.path, "after row \(row): \(error)") }
    }

    private static func readJSONL(_ source: SourceFile, _ body: (String, String) throws -> Void) throws {
        guard let data = FileManager.default.contents(atPath: source.path) else { throw unreadable(source.path) }
        var line = 0
        for slice in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            line += 1
            if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(slice))) as? [String: Any] else {
                throw invalid(source.path, "line \(line) is not a JSON object")
            }
            var ids: [String] = []
            for column in source.idColumns {
                guard let value = object[column], let text = idText(value), !text.isEmpty else {
                    throw invalid(source.path, "line \(line) has no usable id '\(column)' (missing, null, empty or not a scalar)")
                }
                ids.append(text)
            }
            try body(key(ids), json(object))
        }
    }

    /// The positions of the first column name the header repeats, if any.
    private static func firstDuplicate(in header: [String]) -> (first: Int, second: Int)? {
        var seen: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            if let earlier = seen[name] { return (earlier, index) }
            seen[name] = index
        }
        return nil
    }

    /// The value of an id field as text: strings as they are, numbers in their shortest decimal form.
    private static func idText(_ value: Any) -> String? {
        if let text = value as? String { return text }
        if let number = value as? NSNumber { return number.stringValue }
        return nil
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

    private static func unreadable(_ path: String) -> DurableRunStoreError {
        DurableRunStoreError(
            .invalidSource, operation: "ingest", message: "cannot read \(path)", hint: "Check the path and its permissions.")
    }

    private static func invalid(_ path: String, _ message: String, hint: String? = nil) -> DurableRunStoreError {
        DurableRunStoreError(
            .invalidSource, operation: "ingest", message: "\(path): \(message)",
            hint: hint ?? "Fix the file and ingest it again; nothing was stored.")
    }
}
