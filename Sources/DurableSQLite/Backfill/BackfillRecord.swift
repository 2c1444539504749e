import DurableIO
import Foundation
import GRDB

/// One backfill's state as recorded in the database's `_durable_backfills` table, written in the same transaction
/// as each batch: the cursor can never disagree with the data.
///
/// Progress is the key position within `(startKey, boundKey]`, not a row count that live writes change.
///
/// ```swift
/// if let record = try Backfill.status(named: "tx_last_seen_backfill_v1", in: "app.db") {
///     print(record.status, record.fraction ?? 0, record.examinedRows, record.unchangedRows)
/// }
/// ```
public struct BackfillRecord: Sendable, Codable, Equatable {
    /// What the backfill does.
    public var definition: BackfillDefinition
    /// How it paces itself.
    public var options: BackfillOptions
    /// Where it stands (corrected to `interrupted` when read while no process holds it but it says `running`).
    public var status: BackfillStatus
    /// Batches take keys above this one (one below the smallest key in scope at the start).
    public var startKey: Int64?
    /// The largest key at the start: rows inserted later are out of scope (the live write path owns them).
    public var boundKey: Int64?
    /// Every key up to and including this one has been examined.
    public var cursorKey: Int64?
    /// Rows in scope (matching the predicate, keys up to the bound) at the start.
    public var totalRows: Int?
    /// Existing rows per key unit in `[min key, bound]` at the start; sizes each batch's key range.
    public var keyDensity: Double?
    /// Rows the batches examined (matched the predicate when their batch ran).
    public var examinedRows: Int
    /// Examined rows whose values the update changed.
    public var changedRows: Int
    /// Batches committed.
    public var batches: Int
    /// Row limit of the last batch.
    public var lastBatchSize: Int?
    /// Seconds the last batch held the write lock. In the database: from `BEGIN IMMEDIATE` succeeding to the
    /// progress write (the commit follows it); in the record handed to a progress callback: to the end of the commit.
    public var lastBatchSeconds: Double?
    /// Rows examined per second over the recent past (including the pauses).
    public var rowsPerSecond: Double?
    /// Seconds to go at the recent pace of the cursor.
    public var etaSeconds: Double?
    /// The WAL file's size after the last batch (WAL mode only).
    public var walBytes: Int?
    /// The largest WAL size seen after a batch.
    public var walPeakBytes: Int?
    /// When it was first started, ISO 8601 UTC.
    public var startedAt: String?
    /// When it was last written.
    public var updatedAt: String
    /// When it completed, failed or was interrupted.
    public var finishedAt: String?
    /// Why it failed or stopped.
    public var message: String?
    /// The last process that worked on it.
    public var pid: Int32?
    /// That process's host.
    public var host: String?

    /// Rows examined that the update left as they were.
    public var unchangedRows: Int { examinedRows - changedRows }

    /// The cursor's position within `(startKey, boundKey]`, from 0 to 1; `nil` before the bound is known.
    public var fraction: Double? {
        guard let start = startKey, let bound = boundKey else { return nil }
        let cursor = cursorKey ?? start
        guard bound > start else { return 1 }
        return min(1, max(0, Double(cursor - start) / Double(bound - start)))
    }

    /// Whether the cursor has reached the bound.
    var isExhausted: Bool {
        guard let bound = boundKey else { return false }
        return (cursorKey ?? startKey ?? bound) >= bound
    }
}

extension BackfillRecord {
    /// A fresh record for `definition`, before the bound is known.
    init(definition: BackfillDefinition, options: BackfillOptions, now: String) {
        self.init(
            definition: definition, options: options, status: .running, examinedRows: 0, changedRows: 0, batches: 0,
            startedAt: now, updatedAt: now, pid: ProcessInfo.processInfo.processIdentifier, host: BackfillTable.host)
    }

    /// Reads a row of `_durable_backfills`.
    init(row: Row) throws {
        let optionsText: String = row["options"]
        let options = try JSONDecoder().decode(BackfillOptions.self, from: Data(optionsText.utf8))
        let statusText: String = row["status"]
        self.init(
            definition: BackfillDefinition(
                name: row["name"], table: row["table_name"], set: row["set_clause"], where: row["predicate"],
                key: row["key_column"]),
            options: options, status: BackfillStatus(rawValue: statusText) ?? .failed,
            startKey: row["start_key"], boundKey: row["bound_key"], cursorKey: row["cursor_key"],
            totalRows: row["total_rows"], keyDensity: row["key_density"], examinedRows: row["examined_rows"],
            changedRows: row["changed_rows"], batches: row["batches"], lastBatchSize: row["last_batch_size"],
            lastBatchSeconds: row["last_batch_seconds"], rowsPerSecond: row["rows_per_second"],
            etaSeconds: row["eta_seconds"], walBytes: row["wal_bytes"], walPeakBytes: row["wal_peak_bytes"],
            startedAt: row["started_at"], updatedAt: row["updated_at"], finishedAt: row["finished_at"],
            message: row["message"], pid: row["pid"], host: row["host"])
        if BackfillStatus(rawValue: statusText) == nil { message = "unknown status '\(statusText)' recorded" }
    }
}
