import Foundation

/// Prints one JSON object for scripts on standard output, with its `"schema"` version, and flushes at once (stdout
/// is block-buffered on a pipe; a script waiting for the line must not wait for the process to end).
///
/// Keys are snake_case, whatever the Swift names (`rowsVerified` prints as `rows_verified`): this is the one place
/// that decides the key style of every `--json` output. It is presentation only — the records the libraries
/// persist (the lock's owner record, the heartbeat, a backfill's options) are written by their own encoders and keep
/// their keys. Dictionary keys are converted too, so an output never carries user data as a dictionary key.
///
/// ```swift
/// struct Summary: Encodable { var rowsVerified: Int; @JSONNullable var error: String? }
/// try JSONOutput.print(Summary(rowsVerified: 152_265, error: nil), schema: 2)
/// // {"error":null,"rows_verified":152265,"schema":2}
/// ```
public enum JSONOutput {
    /// The schema version of an output whose keys have not changed since the first release.
    public static let schema = 1

    /// Encodes `value` (a keyed object) with `"schema": schema` added and writes it as one line to standard output.
    ///
    /// - Parameters:
    ///   - value: the output, an `Encodable` that encodes as a keyed object (its keys written in snake_case).
    ///   - schema: the output's version: 1 while its keys are those of the first release, 2 once they changed
    ///     (see `Documentation/JSON.md`).
    /// - Throws: an encoding error, or the `errno` of a failed write.
    public static func print(_ value: some Encodable, schema: Int = JSONOutput.schema) throws {
        try write(line(for: value, schema: schema))
    }

    /// Writes `line` to standard output, completing short writes.
    private static func write(_ line: [UInt8]) throws {
        try line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                }
                offset += n
            }
        }
    }

    /// A command's summary at its end: recorded for the `--on-exit` hook (``ExitRecord``) and printed when
    /// `printing` (the command's `--json`).
    public static func summary(_ value: some Encodable, schema: Int = JSONOutput.schema, printing: Bool) throws {
        let line = try line(for: value, schema: schema)
        ExitRecord.shared.record(summary: line)
        if printing { try write(line) }
    }

    /// The line `print` writes: sorted snake_case keys, `"schema"` added, a newline at the end.
    public static func line(for value: some Encodable, schema: Int = JSONOutput.schema) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var object = try JSONSerialization.jsonObject(with: encoder.encode(value)) as? [String: Any] ?? [:]
        object["schema"] = schema
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) + [0x0A]
    }
}

/// An optional property that a `--json` output always carries: `null` when the value is unknown, instead of a
/// missing key (Swift's synthesized `Encodable` leaves a `nil` out). A script reads `.pending` in every state.
///
/// ```swift
/// struct Status: Encodable { var done: Int; @JSONNullable var pending: Int? }
/// try JSONOutput.print(Status(done: 3, pending: nil), schema: 2)   // {"done":3,"pending":null,"schema":2}
/// ```
@propertyWrapper
public struct JSONNullable<Value: Encodable>: Encodable {
    /// The value, or `nil` (printed as `null`).
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension JSONNullable: Sendable where Value: Sendable {}
