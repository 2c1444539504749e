import Foundation

/// One word of a command line that a person will paste into a shell (the hints errors and summaries print): left
/// as it is when it holds only characters no POSIX shell treats specially, single-quoted otherwise, so a path with
/// spaces, quotes, `$`, `*` or a newline reaches the command as one argument, byte for byte.
///
/// ```swift
/// ShellWord.quoted("/data/runs.db")         // /data/runs.db
/// ShellWord.quoted("/data/my runs/it's.db")  // '/data/my runs/it'\''s.db'
/// ```
package enum ShellWord {
    /// `text`, quoted for a POSIX shell only where it must be.
    package static func quoted(_ text: String) -> String {
        let plain = !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return Array("_-./:,+=@%".utf8).contains(byte)
            }
        }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
