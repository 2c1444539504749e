import CSV
import Foundation

/// Reads the items of a source file one at a time, holding one piece of the file (1 MiB) and the items parsed from
/// it — never the whole file — so a source of ten million items is read in bounded memory. ``SourceReader`` is the
/// push-style front; a store that writes items asynchronously (the PostgreSQL `COPY`) pulls from a cursor.
///
/// A piece is cut after its last complete record (a line feed outside quotes, found by ``CSVQuoting/Scanner``,
/// which checks the quoting on the way), and the complete records are parsed by CSV.swift or Foundation's JSON
/// parser; the rest waits for the next piece. A record longer than 64 MiB is refused, naming its
/// line, instead of being buffered whole (a quoted field that never closes would otherwise take the rest of the file
/// with it).
///
/// ```swift
/// var cursor = try SourceCursor(source)
/// while let item = try cursor.next() { print(item.key, item.json) }
/// ```
package struct SourceCursor {
    /// The longest record read by default: 64 MiB.
    package static let defaultMaximumRecordBytes = 64 << 20

    private let source: SourceFile
    private let file: FileHandle
    private let pieceSize: Int
    private let maximumRecordBytes: Int
    private var rest = Data()
    private var items: [(key: String, json: String)] = []
    private var nextItem = 0
    private var atEnd = false
    /// Lines (JSONL) or records (CSV, the header is record 1) handed to the parser so far.
    private var recordsRead = 0
    private var quoting = CSVQuoting.Scanner()
    private var header: [String]?
    private var idPositions: [Int] = []

    /// A cursor at the start of `source`.
    ///
    /// - Parameters:
    ///   - pieceSize: the bytes read at a time (tests use tiny pieces to cut records everywhere).
    ///   - maximumRecordBytes: the longest record (line, or CSV row) read; a longer one is refused.
    /// - Throws: ``DurableRunStoreError`` (`invalidSource`) when the file cannot be opened.
    package init(_ source: SourceFile, pieceSize: Int = 1 << 20, maximumRecordBytes: Int = defaultMaximumRecordBytes) throws {
        guard let file = FileHandle(forReadingAtPath: source.path) else { throw SourceReader.unreadable(source.path) }
        self.source = source
        self.file = file
        self.pieceSize = max(1, pieceSize)
        self.maximumRecordBytes = maximumRecordBytes
    }

    /// The next item in file order, or `nil` at the end of the file.
    ///
    /// - Throws: ``DurableRunStoreError`` (`invalidSource`) naming the line or row of the first fault.
    package mutating func next() throws -> (key: String, json: String)? {
        while nextItem == items.count {
            if atEnd { return nil }
            items.removeAll(keepingCapacity: true)
            nextItem = 0
            try readPiece()
        }
        defer { nextItem += 1 }
        return items[nextItem]
    }

    /// Reads one piece and parses the complete records it ends, or, at the end of the file, what is left.
    private mutating func readPiece() throws {
        let piece: Data
        do { piece = try file.read(upToCount: pieceSize) ?? Data() } catch {
            throw SourceReader.invalid(source.path, "reading it failed after \(describeRecords) (\(error))", hint: "Check the disk and the file, then ingest again; nothing was stored.")
        }
        if piece.isEmpty {
            atEnd = true
            try? file.close()
            if source.format == .csv, let fault = quoting.finish() { throw SourceReader.invalid(source.path, fault.description, hint: fault.hint) }
            let last = rest
            rest = Data()
            try parse(last)
            if source.format == .csv && header == nil {
                throw SourceReader.invalid(source.path, "the file is empty: no header row could be read")
            }
            return
        }
        let end: Int?
        switch source.format {
        case .csv:
            if let fault = piece.withUnsafeBytes({ quoting.scan($0) }) { throw SourceReader.invalid(source.path, fault.description, hint: fault.hint) }
            end = quoting.lastRecordEnd
        case .jsonl:
            end = piece.lastIndex(of: 0x0A).map { $0 - piece.startIndex + 1 }
        }
        guard let end else {
            rest.append(piece)
            guard rest.count <= maximumRecordBytes else { throw tooLong() }
            return
        }
        var complete = rest
        complete.append(piece.prefix(end))
        rest = Data(piece.dropFirst(end))
        try parse(complete)
    }

    private var describeRecords: String {
        source.format == .csv ? "row \(recordsRead)" : "line \(recordsRead)"
    }

    private func tooLong() -> DurableRunStoreError {
        let what = source.format == .csv ? "row \(recordsRead + 1)" : "line \(recordsRead + 1)"
        let why = source.format == .csv ? " (a quoted field that is never closed reads as one long row)" : ""
        return SourceReader.invalid(
            source.path, "\(what) is longer than \(maximumRecordBytes >> 20) MiB\(why)",
            hint: "Check that row's quoting, or split the record; nothing was stored.")
    }

    /// Parses complete records into ``items``.
    private mutating func parse(_ records: Data) throws {
        if records.isEmpty { return }
        switch source.format {
        case .csv: try parseCSV(records)
        case .jsonl: try parseJSONL(records)
        }
    }

    private mutating func parseCSV(_ records: Data) throws {
        guard let text = String(data: records, encoding: .utf8) else {
            throw SourceReader.invalid(source.path, "the file is not valid UTF-8 (after row \(recordsRead))")
        }
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: false) } catch {
            throw SourceReader.invalid(source.path, "after row \(recordsRead): \(error)")
        }
        while let fields = reader.next() {
            recordsRead += 1
            guard let header else {
                try readHeader(fields)
                continue
            }
            if fields.count == 1 && fields[0].isEmpty { continue }  // a blank line
            guard fields.count == header.count else {
                throw SourceReader.invalid(source.path, "row \(recordsRead) has \(fields.count) fields, the header has \(header.count)")
            }
            let ids = idPositions.map { fields[$0] }
            if let empty = ids.firstIndex(where: { $0.isEmpty }) {
                throw SourceReader.invalid(source.path, "row \(recordsRead) has an empty id ('\(source.idColumns[empty])')")
            }
            var object: [String: String] = [:]
            for (name, value) in zip(header, fields) { object[name] = value }
            items.append((SourceReader.key(ids), SourceReader.json(object)))
        }
        if let error = reader.error { throw SourceReader.invalid(source.path, "after row \(recordsRead): \(error)") }
    }

    private mutating func readHeader(_ fields: [String]) throws {
        if let duplicate = Self.firstDuplicate(in: fields) {
            throw SourceReader.invalid(
                source.path,
                "the header names column '\(fields[duplicate.first])' twice (columns \(duplicate.first + 1) and \(duplicate.second + 1)); one of them would be dropped",
                hint: "Rename one of the two columns, then ingest again; nothing was stored.")
        }
        idPositions = try source.idColumns.map { column in
            guard let index = fields.firstIndex(of: column) else {
                throw SourceReader.invalid(
                    source.path, "the id column '\(column)' is not in the header",
                    hint: "Columns: \(fields.prefix(20).joined(separator: ", ")).")
            }
            return index
        }
        header = fields
    }

    private mutating func parseJSONL(_ records: Data) throws {
        var lines = records.split(separator: 0x0A, omittingEmptySubsequences: false)
        if records.last == 0x0A { lines.removeLast() }  // what follows the last line feed is the next piece's
        for slice in lines {
            recordsRead += 1
            if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(slice))) as? [String: Any] else {
                throw SourceReader.invalid(source.path, "line \(recordsRead) is not a JSON object")
            }
            var ids: [String] = []
            for column in source.idColumns {
                guard let value = object[column], let text = Self.idText(value), !text.isEmpty else {
                    throw SourceReader.invalid(source.path, "line \(recordsRead) has no usable id '\(column)' (missing, null, empty or not a scalar)")
                }
                ids.append(text)
            }
            items.append((SourceReader.key(ids), SourceReader.json(object)))
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
}
