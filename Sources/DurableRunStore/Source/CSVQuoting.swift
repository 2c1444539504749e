import Foundation

/// Checks the quoting of a CSV file before it is read, by the rules CSV.swift reads it with (RFC 4180): a field that
/// starts with `"` is quoted; inside it `""` is a quote, and a `"` followed by a comma, the end of the line or the
/// end of the file closes it. CSV.swift accepts two faults without a word — a quoted field never closed runs to the
/// end of the file, and a lone `"` inside a quoted field is kept while the character after it is dropped — so this
/// check refuses both, naming the line. A `"` inside an unquoted field (`5" tall`) is an ordinary character.
///
/// ```swift
/// if let fault = CSVQuoting.firstFault(in: data) { print(fault) }  // "line 3: a quoted field opens here and is never closed …"
/// ```
enum CSVQuoting {
    /// A quoting fault and where it is.
    struct Fault: CustomStringConvertible, Equatable {
        enum Kind: Equatable {
            /// A quoted field that opens on ``line`` and never closes; `linesAfter` lines follow it.
            case unterminated(linesAfter: Int)
            /// A `"` on ``line`` inside a quoted field, neither doubled nor followed by a comma or the end of the line.
            case strayQuote
        }
        var kind: Kind
        /// The line (1-based, counting every line feed, also those inside quoted fields).
        var line: Int

        var description: String {
            switch kind {
            case .unterminated(let after):
                return "line \(line): a quoted field opens here and is never closed; read as written, it would swallow the \(after) line(s) after it into one field"
            case .strayQuote:
                return "line \(line): a quote inside a quoted field is neither doubled (\"\") nor followed by a comma or the end of the line"
            }
        }

        var hint: String {
            "Fix the quoting on that line (inside a quoted field a quote is written twice: \"\"), then ingest again; nothing was stored."
        }
    }

    /// The first quoting fault in `data`, or `nil` when every quoted field is well formed.
    static func firstFault(in data: Data) -> Fault? {
        var scanner = Scanner()
        if let fault = data.withUnsafeBytes({ scanner.scan($0) }) { return fault }
        return scanner.finish()
    }

    /// The same check over a file read piece by piece: ``scan(_:)`` each piece in order, then ``finish()``. It also
    /// tells where a piece's last complete record ends (after a line feed outside quotes), so a reader can hand
    /// whole records to CSV.swift and keep only the rest.
    ///
    /// ```swift
    /// var scanner = CSVQuoting.Scanner()
    /// if let fault = piece.withUnsafeBytes({ scanner.scan($0) }) { throw … }
    /// let whole = scanner.lastRecordEnd   // bytes of `piece` that end a record, or nil
    /// ```
    struct Scanner {
        private enum State { case fieldStart, unquoted, quoted, quotedAfterQuote }
        private var state = State.fieldStart
        private var line = 1
        private var openedOn = 0
        private var lastByte: UInt8?
        /// After the last ``scan(_:)``: the count of its bytes up to and including its last line feed outside a
        /// quoted field, or `nil` when it has none.
        private(set) var lastRecordEnd: Int?
        /// The line (from 1) the scan has reached.
        var currentLine: Int { line }

        /// Scans the next piece; returns the first fault in it (a stray quote), if any.
        mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Fault? {
            let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lineFeed = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")
            lastRecordEnd = nil
            for (i, byte) in bytes.enumerated() {
                switch state {
                case .quoted:
                    if byte == quote { state = .quotedAfterQuote } else if byte == lineFeed { line += 1 }
                    continue
                case .quotedAfterQuote:
                    if byte == quote {  // an escaped quote
                        state = .quoted
                        continue
                    }
                    guard byte == comma || byte == lineFeed || byte == carriageReturn else {
                        return Fault(kind: .strayQuote, line: line)
                    }
                case .fieldStart where byte == quote:
                    state = .quoted
                    openedOn = line
                    continue
                case .fieldStart, .unquoted: break
                }
                switch byte {
                case comma, carriageReturn: state = .fieldStart
                case lineFeed:
                    line += 1
                    state = .fieldStart
                    lastRecordEnd = i + 1
                default: state = .unquoted
                }
            }
            lastByte = bytes.last ?? lastByte
            return nil
        }

        /// The end of the file: a quoted field still open is a fault.
        func finish() -> Fault? {
            guard state == .quoted else { return nil }
            // The last line counts only if it has bytes (a file usually ends with a line feed).
            let lastLine = lastByte == UInt8(ascii: "\n") ? line - 1 : line
            return Fault(kind: .unterminated(linesAfter: lastLine - openedOn), line: openedOn)
        }
    }
}
