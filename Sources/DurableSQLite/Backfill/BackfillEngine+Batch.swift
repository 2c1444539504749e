import DurableIO
import Foundation
import GRDB

extension BackfillEngine {
    /// One batch: a `BEGIN IMMEDIATE` transaction that reads the next rows in scope after the cursor (at most the
    /// row limit, within a bounded key range), updates exactly those keys, counts the rows whose values changed,
    /// and writes the progress — all committed together. Returns the seconds the batch held the write lock (from
    /// `BEGIN IMMEDIATE` succeeding to the end of its commit): the time others waited for it, which sizes the next
    /// batch and the pause. Time spent waiting for another connection's lock is not the batch's cost.
    mutating func batch() throws -> Double {
        guard let bound = record.boundKey else { return 0 }
        let cursor = record.cursorKey ?? record.startKey ?? bound
        let limit = sizer.size
        let span = Int64(min(4e18, max(Double(limit), (Double(limit) * record.options.maxScanFactor / max(record.keyDensity ?? 1, 1e-9)).rounded(.up))))
        let high = bound - cursor <= span ? bound : cursor + span
        var acquired = monotonicSeconds()
        var next = record
        let select = selectSQL
        let update = updateSQL
        try queue.inDatabase { db in
            try db.inTransaction(.immediate) {
                acquired = monotonicSeconds()  // BEGIN IMMEDIATE has the write lock
                let before = try Row.fetchAll(db, sql: select, arguments: [cursor, high, limit])
                var end = high
                if before.count == limit, let last = before.last, let key = try key(last[0] as DatabaseValue, "a key") { end = key }
                var changed = 0
                if !before.isEmpty {
                    var old: [Int64: [DatabaseValue]] = [:]
                    old.reserveCapacity(before.count)
                    for row in before { if let key = try key(row[0] as DatabaseValue, "a key") { old[key] = Array(row.databaseValues) } }
                    let after = try Row.fetchAll(db, sql: update, arguments: [cursor, end])
                    for row in after {
                        guard let key = try key(row[0] as DatabaseValue, "a key") else { continue }
                        if old[key] != Array(row.databaseValues) { changed += 1 }
                    }
                }
                keys.mark(completed: Int(clamping: end - cursor))
                rows.mark(completed: before.count)
                next.cursorKey = end
                next.examinedRows += before.count
                next.changedRows += changed
                next.batches += 1
                next.lastBatchSize = limit
                next.lastBatchSeconds = monotonicSeconds() - acquired
                next.rowsPerSecond = rows.snapshot().ratePerSecond
                next.etaSeconds = keys.snapshot().etaSeconds
                next.updatedAt = BackfillTable.now()
                try BackfillTable.recordBatch(next, in: db)
                return .commit
            }
        }
        let seconds = monotonicSeconds() - acquired
        record = next
        record.lastBatchSeconds = seconds  // the progress callback sees the full time, commit included
        sizer.record(rows: limit, seconds: seconds)
        return seconds
    }
}
