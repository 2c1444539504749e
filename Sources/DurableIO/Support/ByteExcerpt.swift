/// The first bytes of what a command printed, for an error message: at most `limit` bytes, printable ASCII as it
/// is, `"` and `\` escaped, `\n` `\r` `\t` by name and any other byte as `\xNN`, in double quotes, with `…` when cut.
/// An operator sees what the command printed without a terminal-breaking byte or a megabyte of output.
///
/// ```swift
/// ByteExcerpt.escaped(Array("Traceback (most recent call last):\n".utf8))   // "Traceback (most recent call last):\n"
/// ```
package enum ByteExcerpt {
    /// `bytes`' first `limit` bytes, escaped and quoted.
    package static func escaped(_ bytes: [UInt8], limit: Int = 60) -> String {
        var text = "\""
        for byte in bytes.prefix(limit) {
            switch byte {
            case UInt8(ascii: "\""): text += "\\\""
            case UInt8(ascii: "\\"): text += "\\\\"
            case 0x0A: text += "\\n"
            case 0x0D: text += "\\r"
            case 0x09: text += "\\t"
            case 0x20...0x7E: text.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text + "\"" + (bytes.count > limit ? "…" : "")
    }
}
