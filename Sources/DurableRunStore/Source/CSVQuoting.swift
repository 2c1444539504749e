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
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lineFeed = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")
        return data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Fault? in
            var line = 1
            var atFieldStart = true
            var quoted = false
            var openedOn = 0
            var i = 0
            while i < bytes.count {
                let byte = bytes[i]
                if quoted {
                    if byte == quote {
                        let next: UInt8? = i + 1 < bytes.count ? bytes[i + 1] : nil
                        if next == quote {
                            i += 2  // an escaped quote
                            continue
                        }
                        guard next == nil || next == comma || next == lineFeed || next == carriageReturn else {
                            return Fault(kind: .strayQuote, line: line)
                        }
                        quoted = false
                        atFieldStart = false
                    } else if byte == lineFeed {
                        line += 1
                    }
                    i += 1
                    continue
                }
                switch byte {
                case quote where atFieldStart:
                    quoted = true
                    openedOn = line
                    atFieldStart = false
                case comma, carriageReturn: atFieldStart = true
                case lineFeed:
                    line += 1
                    atFieldStart = true
                default: atFieldStart = false
                }
                i += 1
            }
            guard quoted else { return nil }
            // The last line counts only if it has bytes (a file usually ends with a line feed).
            let lastLine = bytes.last == lineFeed ? line - 1 : line
            return Fault(kind: .unterminated(linesAfter: lastLine - openedOn), line: openedOn)
        }
    }
}
