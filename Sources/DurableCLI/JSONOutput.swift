import Foundation

/// Prints one JSON object for scripts on standard output, with `"schema": 1`, and flushes at once (stdout is
/// block-buffered on a pipe; a script waiting for the line must not wait for the process to end).
///
/// ```swift
/// struct Summary: Encodable { var rows: Int; var failed: Int }
/// try JSONOutput.print(Summary(rows: 152_265, failed: 0))   // {"failed":0,"rows":152265,"schema":1}
/// ```
public enum JSONOutput {
    /// The schema version every `--json` object carries.
    public static let schema = 1

    /// Encodes `value` (a keyed object) with `"schema": 1` added and writes it as one line to standard output.
    public static func print(_ value: some Encodable) throws {
        try line(for: value).withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                }
                offset += n
            }
        }
    }

    /// The line `print` writes.
    public static func line(for value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var object = try JSONSerialization.jsonObject(with: encoder.encode(value)) as? [String: Any] ?? [:]
        object["schema"] = schema
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) + [0x0A]
    }
}
