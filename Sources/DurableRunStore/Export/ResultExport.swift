import CSV
import DurableIO
import Foundation

/// Writes a run's results to a file an operator can read without SQL — JSON Lines or CSV — through
/// `AtomicFile` (a reader, or a crash, sees the whole previous file or the whole new one), then reads the file
/// back and counts its records against the store's count of the run's results.
///
/// Each record has the keys `item_id` (the item's id in the source), `status` (`succeeded` or `failed`), `result`
/// (the output's JSON for a success, `null` otherwise), `error` and `error_category` (the last error, for a
/// failure), `attempts` (over the run's life) and `last_attempt_at` (ISO 8601). In JSON Lines every key is present,
/// `null` when empty, and `result` is the output's JSON value itself; in CSV (written with CSV.swift, RFC 4180
/// quoting) the header row names the keys, `result` is the output's JSON text and an empty cell stands for `null`.
///
/// ```swift
/// let read = try await store.results(ofRun: id)
/// let report = try ResultExport.write(read, format: .csv, to: "results.csv")
/// print("\(report.records) results written to \(report.path)")   // verified by reading the file back
/// ```
public enum ResultExport {
    /// The file format of an export.
    public enum Format: String, Sendable, CaseIterable, Codable {
        /// JSON Lines: one object per line.
        case jsonl
        /// CSV with a header row.
        case csv
    }

    /// The keys of every record, in the order CSV columns have them.
    public static let keys = ["item_id", "status", "result", "error", "error_category", "attempts", "last_attempt_at"]

    /// What an export wrote, verified.
    public struct Report: Sendable, Equatable {
        /// The file written.
        public var path: FilePath
        /// Its format.
        public var format: Format
        /// Records in the file (read back): the run's recorded results.
        public var records: Int
        /// Of those, successes.
        public var succeeded: Int
        /// Of those, failures.
        public var failed: Int
        /// The file's size.
        public var bytes: Int64
        /// The run, as it was when its results were read.
        public var run: RunRecord
    }

    /// Writes `results` to `path` in `format`, replacing any file there atomically, then reads the file back and
    /// checks that it holds one record per stored result.
    ///
    /// - Returns: what was written. When it returns, the file is durable (file and directory fsync'd) and verified.
    /// - Throws: `DurableIOError` from the replace (the previous file, if any, is left whole);
    ///   ``DurableRunStoreError`` `exportMismatch` (exit 3), with both numbers, when the results read disagree with
    ///   the run's counts (nothing is written) or when the file read back holds another number of records than
    ///   the store's count (the file is removed: it is known to be wrong).
    public static func write(
        _ results: RunResults, format: Format, to path: FilePath, fileSystem: any FileSystem = RealFileSystem()
    ) throws -> Report {
        let operation = "export run \(results.run.id)"
        let expected = results.storedCount
        guard results.results.count == expected else {
            throw DurableRunStoreError(
                .exportMismatch, operation: operation,
                message: "the store counts \(expected) results for the run (\(results.run.completedCount) succeeded, \(results.run.failedCount) failed), but \(results.results.count) were read; nothing was written",
                hint: "The run's counts disagree with its results: resume the run (a commit recounts them), then export again.")
        }
        try AtomicFile.write(to: path, fileSystem: fileSystem) { writer in
            switch format {
            case .jsonl:
                for result in results.results { try writer.write(jsonLine(result)) }
            case .csv:
                try writer.write(try csvRows([keys]))
                var chunk: [[String]] = []
                for result in results.results {
                    chunk.append(csvCells(result))
                    if chunk.count == 512 {
                        try writer.write(try csvRows(chunk))
                        chunk.removeAll(keepingCapacity: true)
                    }
                }
                if !chunk.isEmpty { try writer.write(try csvRows(chunk)) }
            }
        }
        let found: Int
        do { found = try countRecords(in: path, format: format) } catch {
            try? fileSystem.unlink(path)
            throw error
        }
        guard found == expected else {
            try? fileSystem.unlink(path)  // a file known to be wrong is not left where a script would read it
            throw DurableRunStoreError(
                .exportMismatch, operation: operation,
                message: "\(path), read back, holds \(found) records, but the store holds \(expected) results for the run; the file was removed",
                hint: "Run the export again; if the numbers differ again, check the disk (dmesg) and the file system.")
        }
        let bytes = (try? fileSystem.stat(path, followSymlinks: true).size) ?? 0
        let succeeded = results.results.count { $0.status == .succeeded }
        return Report(
            path: path, format: format, records: found, succeeded: succeeded, failed: found - succeeded,
            bytes: bytes, run: results.run)
    }

    /// Counts the records of an export file: JSON Lines objects that carry an `item_id`, or CSV rows after the
    /// header (read with CSV.swift, so a quoted newline stays inside its cell).
    ///
    /// - Throws: `DurableIOError` `invalidInput` for a file that cannot be read or parsed.
    public static func countRecords(in path: FilePath, format: Format) throws -> Int {
        let operation = "read back the export"
        switch format {
        case .jsonl:
            guard let data = FileManager.default.contents(atPath: path.string) else {
                throw DurableIOError(.invalidInput, operation: operation, path: path, message: "cannot read the file")
            }
            var count = 0
            for (number, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], object["item_id"] != nil else {
                    throw DurableIOError(.invalidInput, operation: operation, path: path, message: "line \(number + 1) is not an exported result")
                }
                count += 1
            }
            return count
        case .csv:
            guard let stream = InputStream(fileAtPath: path.string) else {
                throw DurableIOError(.invalidInput, operation: operation, path: path, message: "cannot open the file")
            }
            do {
                let reader = try CSVReader(stream: stream, hasHeaderRow: true)
                guard reader.headerRow == keys else {
                    throw DurableIOError(.invalidInput, operation: operation, path: path, message: "the header row is not the export's")
                }
                var count = 0
                while let cells = reader.next() {
                    guard cells.count == keys.count else {
                        throw DurableIOError(.invalidInput, operation: operation, path: path, message: "record \(count + 1) has \(cells.count) cells, not \(keys.count)")
                    }
                    count += 1
                }
                // CSV.swift reports the end of the stream as `cannotReadFile`; a read that stopped early shows as
                // fewer records than the store's count.
                if let error = reader.error {
                    if case CSVError.cannotReadFile = error { return count }
                    throw error
                }
                return count
            } catch let error as DurableIOError {
                throw error
            } catch {
                throw DurableIOError(.invalidInput, operation: operation, path: path, message: "\(error)", cause: error)
            }
        }
    }

    // MARK: Records

    static let time = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// One JSON Lines record with its newline. The output is embedded as it is stored when it is one line of valid
    /// JSON, else re-serialized (compact) or, when it is no JSON at all, as a string.
    static func jsonLine(_ r: RecordedResult) throws -> [UInt8] {
        func string(_ text: String?) throws -> [UInt8] {
            guard let text else { return Array("null".utf8) }
            return Array(try JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
        }
        var line: [UInt8] = Array(#"{"item_id":"#.utf8) + (try string(r.itemKey))
        line += Array(#","status":"#.utf8) + (try string(r.status.rawValue))
        line += Array(#","result":"#.utf8) + (try resultJSON(r.output))
        line += Array(#","error":"#.utf8) + (try string(r.errorMessage))
        line += Array(#","error_category":"#.utf8) + (try string(r.errorCategory))
        line += Array(#","attempts":\#(r.attempts)"#.utf8)
        line += Array(#","last_attempt_at":"#.utf8) + (try string(r.lastAttemptAt.map { $0.formatted(time) }))
        line += Array("}\n".utf8)
        return line
    }

    static func resultJSON(_ output: String?) throws -> [UInt8] {
        guard let output else { return Array("null".utf8) }
        let bytes = Data(output.utf8)
        guard let value = try? JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed]) else {
            return Array(try JSONSerialization.data(withJSONObject: output, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
        }
        if !bytes.contains(0x0A) && !bytes.contains(0x0D) { return Array(bytes) }
        return Array(try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
    }

    static func csvCells(_ r: RecordedResult) -> [String] {
        [
            r.itemKey, r.status.rawValue, r.output ?? "", r.errorMessage ?? "", r.errorCategory ?? "", String(r.attempts),
            r.lastAttemptAt.map { $0.formatted(time) } ?? "",
        ]
    }

    /// Rows through the CSV library, each ending in a newline.
    static func csvRows(_ rows: [[String]]) throws -> [UInt8] {
        let stream = OutputStream(toMemory: ())
        stream.open()
        defer { stream.close() }
        let writer = try CSVWriter(stream: stream)
        for row in rows { try writer.write(row: row) }
        let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        return Array(data) + [0x0A]
    }
}

extension RunStore {
    /// Reads every result of run `id` and writes it to `path` with ``ResultExport/write(_:format:to:fileSystem:)``.
    ///
    /// ```swift
    /// let report = try await store.exportResults(ofRun: id, format: .jsonl, to: "results.jsonl")
    /// ```
    ///
    /// - Throws: ``DurableRunStoreError`` `runNotFound` (nothing is written), or what the export throws.
    public func exportResults(ofRun id: String, format: ResultExport.Format, to path: FilePath) async throws -> ResultExport.Report {
        let read = try await results(ofRun: id)
        // Writing, fsyncing and reading back a large file: on a thread of its own, not the cooperative pool's.
        return try await DedicatedThread.run("export") { try ResultExport.write(read, format: format, to: path) }
    }
}
