import Foundation
import DurableIO
import GRDB

/// The `_durable_backfills` table in the user's database: one row per backfill, created on first use.
///
/// Progress is written by the batch's own transaction (``recordBatch(_:in:)``); status changes outside a batch
/// (start, failure, stop, completion) are short transactions of their own.
enum BackfillTable {
    static let name = "_durable_backfills"

    static let createSQL = """
        CREATE TABLE IF NOT EXISTS _durable_backfills (
            name TEXT PRIMARY KEY NOT NULL,
            table_name TEXT NOT NULL,
            key_column TEXT NOT NULL,
            set_clause TEXT NOT NULL,
            predicate TEXT,
            options TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
            start_key INTEGER,
            bound_key INTEGER,
            cursor_key INTEGER,
            total_rows INTEGER,
            key_density REAL,
            examined_rows INTEGER NOT NULL DEFAULT 0,
            changed_rows INTEGER NOT NULL DEFAULT 0,
            batches INTEGER NOT NULL DEFAULT 0,
            last_batch_size INTEGER,
            last_batch_seconds REAL,
            rows_per_second REAL,
            eta_seconds REAL,
            wal_bytes INTEGER,
            wal_peak_bytes INTEGER,
            started_at TEXT,
            updated_at TEXT NOT NULL,
            finished_at TEXT,
            message TEXT,
            pid INTEGER,
            host TEXT
        )
        """

    /// This host's name, as lock records hold it.
    static let host: String = RealFileSystem().hostName()

    /// Now, ISO 8601 UTC with milliseconds.
    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }

    static func exists(_ db: Database) throws -> Bool { try db.tableExists(name) }

    static func create(_ db: Database) throws { try db.execute(sql: createSQL) }

    static func load(_ name: String, _ db: Database) throws -> BackfillRecord? {
        guard try exists(db) else { return nil }
        return try Row.fetchOne(db, sql: "SELECT * FROM _durable_backfills WHERE name = ?", arguments: [name]).map(BackfillRecord.init(row:))
    }

    static func loadAll(_ db: Database) throws -> [BackfillRecord] {
        guard try exists(db) else { return [] }
        return try Row.fetchAll(db, sql: "SELECT * FROM _durable_backfills ORDER BY name").map(BackfillRecord.init(row:))
    }

    /// Inserts or replaces the whole record.
    static func save(_ record: BackfillRecord, _ db: Database) throws {
        let options = String(decoding: try JSONEncoder().encode(record.options), as: UTF8.self)
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO _durable_backfills (
                    name, table_name, key_column, set_clause, predicate, options, status, start_key, bound_key,
                    cursor_key, total_rows, key_density, examined_rows, changed_rows, batches, last_batch_size,
                    last_batch_seconds, rows_per_second, eta_seconds, wal_bytes, wal_peak_bytes, started_at, updated_at,
                    finished_at, message, pid, host)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                record.definition.name, record.definition.table, record.definition.keyColumn,
                record.definition.setClause, record.definition.predicate, options, record.status.rawValue,
                record.startKey, record.boundKey, record.cursorKey, record.totalRows, record.keyDensity,
                record.examinedRows, record.changedRows, record.batches, record.lastBatchSize, record.lastBatchSeconds,
                record.rowsPerSecond, record.etaSeconds, record.walBytes, record.walPeakBytes, record.startedAt,
                record.updatedAt, record.finishedAt, record.message, record.pid, record.host,
            ])
    }

    /// Writes a batch's progress; called inside the batch's transaction. Throws if the record vanished.
    static func recordBatch(_ record: BackfillRecord, in db: Database) throws {
        try db.execute(
            sql: """
                UPDATE _durable_backfills SET cursor_key = ?, examined_rows = ?, changed_rows = ?, batches = ?,
                    last_batch_size = ?, last_batch_seconds = ?, rows_per_second = ?, eta_seconds = ?, wal_bytes = ?,
                    wal_peak_bytes = ?, updated_at = ?
                WHERE name = ? AND status = 'running'
                """,
            arguments: [
                record.cursorKey, record.examinedRows, record.changedRows, record.batches, record.lastBatchSize,
                record.lastBatchSeconds, record.rowsPerSecond, record.etaSeconds, record.walBytes, record.walPeakBytes,
                record.updatedAt, record.definition.name,
            ])
        guard db.changesCount == 1 else {
            throw DatabaseError(
                resultCode: .SQLITE_ERROR,
                message: "the progress record of '\(record.definition.name)' in \(name) is missing or no longer 'running'; someone changed it while the backfill ran")
        }
    }
}
