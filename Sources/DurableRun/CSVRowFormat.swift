import CSV
import DurableIO
import Foundation
import SystemPackage

/// A CSV output (read and written with yaslab/CSV.swift): a header row, then one row per key. The first column
/// is `key`; the others are the fields of the first row, in byte order of their names. A value that is not a
/// string (a number, a boolean, an object, an array) is written as its JSON text; `null` as an empty cell.
///
/// A later row with a field the header lacks is refused — the rows stay safe in staging — unless ``widen`` is
/// set: then the header is the union of every row's fields, and rows without a field get an empty cell (the
/// finalize reads the rows twice to size it). A key that is not UTF-8 is written in its JSON form
/// `{"base64":"…"}`.
///
/// Reading an existing CSV output back, every cell is a string: the CSV round trip is stable (the same cells are
/// written again), but a number's type is not kept.
///
/// ```swift
/// let run = CheckpointedRun(output: "stats.csv", format: CSVRowFormat(widen: true))
/// ```
public struct CSVRowFormat: RowFileFormat {
    /// Whether a row with new fields widens the header instead of being refused.
    public var widen: Bool

    /// The format.
    public init(widen: Bool = false) { self.widen = widen }

    public func forEachRow(
        in path: FilePath, fileSystem: any FileSystem, _ body: (KeyedRow) throws -> Void
    ) throws -> RowFileDamage {
        guard try fileSystem.exists(path) else { return RowFileDamage(malformed: 0, tornBytes: 0) }
        guard let stream = InputStream(fileAtPath: path.string) else {
            throw DurableIOError(.invalidInput, operation: "read CSV output", path: path, message: "cannot open the file")
        }
        let reader: CSVReader
        do { reader = try CSVReader(stream: stream, hasHeaderRow: true) } catch {
            throw DurableIOError(.invalidInput, operation: "read CSV output", path: path, message: "\(error)", cause: error)
        }
        let header = reader.headerRow ?? []
        guard let keyColumn = header.firstIndex(of: "key") else {
            throw DurableIOError(
                .invalidInput, operation: "read CSV output", path: path,
                message: header.isEmpty ? "the file has no header row" : "the header has no \"key\" column",
                hint: "Nothing was changed. Is this a DurableIO CSV output? Use --format jsonl for a JSON Lines output.")
        }
        var malformed = 0
        while let cells = reader.next() {
            guard cells.count == header.count, let key = Self.key(cells[keyColumn]) else {
                malformed += 1
                continue
            }
            var fields: [String: String] = [:]
            for (name, cell) in zip(header, cells) where name != "key" { fields[name] = cell }
            let json = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
            try body(try KeyedRow(key: key, json: Array(json)))
        }
        // The library reports the end of the stream as `cannotReadFile`; a read that stopped early shows up as
        // missing keys in the accounting that follows every read of an output.
        if let error = reader.error, !Self.isEndOfStream(error) {
            throw DurableIOError(.invalidInput, operation: "read CSV output", path: path, message: "\(error)", cause: error)
        }
        return RowFileDamage(malformed: malformed, tornBytes: 0)
    }

    public func encode(
        _ rows: (_ emit: (KeyedRow) throws -> Void) throws -> Void, into write: ([UInt8]) throws -> Void
    ) throws {
        var header: [String]?
        if widen {
            var names = Set<String>()
            try rows { row in names.formUnion(try row.fields().keys) }
            header = names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            try write(Self.line(["key"] + header!))
        }
        try withoutActuallyEscaping(write) { write in
            try rows { row in
                let fields = try row.fields()
                if header == nil {
                    header = fields.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                    try write(Self.line(["key"] + header!))
                }
                let extra = fields.keys.filter { !header!.contains($0) }.sorted()
                guard extra.isEmpty else {
                    throw DurableIOError(
                        .invalidInput, operation: "write CSV output",
                        message: "the row for key \(row.key) has field(s) the CSV header lacks: \(extra.joined(separator: ", "))",
                        hint: "Nothing was lost: the rows are durable in staging. Rerun with --csv-widen to write a header with every row's fields.")
                }
                try write(Self.line([Self.keyCell(row.key)] + header!.map { Self.cell(fields[$0]) }))
            }
        }
    }

    private static func isEndOfStream(_ error: any Error) -> Bool {
        if case CSVError.cannotReadFile = error { return true }
        return false
    }

    /// One CSV line (with its newline) through the CSV library.
    static func line(_ cells: [String]) throws -> [UInt8] {
        let stream = OutputStream(toMemory: ())
        stream.open()
        defer { stream.close() }
        let writer = try CSVWriter(stream: stream)
        try writer.write(row: cells)
        let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        return Array(data) + [0x0A]
    }

    static func cell(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return ""
        case let string as String: return string
        case let value?:
            let data = try? JSONSerialization.data(
                withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
            return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
        }
    }

    static func keyCell(_ key: RecordKey) -> String {
        key.string ?? String(decoding: key.jsonBytes, as: UTF8.self)
    }

    static func key(_ cell: String) -> RecordKey? {
        guard cell.hasPrefix(#"{"base64":"#) else { return RecordKey(cell) }
        guard let form = try? JSONSerialization.jsonObject(with: Data(cell.utf8)) as? [String: String],
            let raw = form["base64"].flatMap({ Data(base64Encoded: $0) })
        else { return nil }
        return RecordKey(bytes: Array(raw))
    }
}
