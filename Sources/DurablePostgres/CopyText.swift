import NIOCore

/// Writes a value in the text format of PostgreSQL's `COPY`: a backslash, tab, line feed or carriage return in it
/// is escaped (`\\`, `\t`, `\n`, `\r`), so a column never ends inside a value and a row never ends inside one.
///
/// ```swift
/// CopyText.append("a\tb", to: &buffer)   // writes a\tb with the tab escaped
/// ```
enum CopyText {
    static func append(_ value: String, to buffer: inout ByteBuffer) {
        var value = value
        value.withUTF8 { bytes in
            var start = 0
            for (i, byte) in bytes.enumerated() {
                let escaped: UInt8
                switch byte {
                case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
                case UInt8(ascii: "\t"): escaped = UInt8(ascii: "t")
                case UInt8(ascii: "\n"): escaped = UInt8(ascii: "n")
                case UInt8(ascii: "\r"): escaped = UInt8(ascii: "r")
                default: continue
                }
                buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[start..<i]))
                buffer.writeInteger(UInt8(ascii: "\\"))
                buffer.writeInteger(escaped)
                start = i + 1
            }
            buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[start...]))
        }
    }
}
