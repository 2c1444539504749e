import DurableIO
import Foundation
import GRDB

/// The loop of one backfill in one process (which holds its lock): snapshot the bound if not yet recorded, then
/// batch, record, checkpoint and pause until the cursor reaches the bound or a stop is requested. Any error is
/// recorded as `failed` (with the message) before it is thrown.
struct BackfillEngine {
    let queue: DatabaseQueue
    let database: String
    var record: BackfillRecord
    let stop: StopRequest
    /// Memory and disk reserve, checked before every batch (the disk at most once a second).
    let guardrails: Guardrails
    var sizer: BatchSizer
    var isWAL = false
    /// Cursor progress in key units (rate and ETA of the cursor), and rows examined (rate).
    var keys = ProgressTracker(total: nil, options: .init(etaMinimumItems: 1, etaMinimumSeconds: 2))
    let rows = ProgressTracker(total: nil)

    init(queue: DatabaseQueue, database: String, record: BackfillRecord, stop: StopRequest, limits: GuardrailLimits) {
        var limits = limits
        limits.stallTimeout = nil  // a batch is bounded by the busy timeout; nothing runs on its own to stall
        guardrails = Guardrails(tracker: ProgressTracker(total: nil), limits: limits)
        self.queue = queue
        self.database = database
        self.record = record
        self.stop = stop
        self.sizer = BatchSizer(record.options)
    }

    var name: String { record.definition.name }

    mutating func run(progress: (BackfillRecord) -> Void) throws -> BackfillOutcome {
        var operation = "prepare"
        do {
            operation = "check the database"
            try queue.inDatabase { db in
                try db.execute(sql: "PRAGMA busy_timeout = \(Int(record.options.busyTimeout.seconds * 1000))")
                isWAL = try BackfillConnection.isWAL(db)
            }
            operation = "check the key column"
            try queue.inDatabase { try record.definition.checkKeyIsIndexed($0, database: database) }
            operation = "compile the batch queries"
            try queue.inDatabase { db in
                _ = try db.makeStatement(sql: selectSQL)
                _ = try db.makeStatement(sql: updateSQL)
            }
            operation = "check the definition"
            try queue.inDatabase { try record.definition.refuseKeyAssignment($0, database: database, whenCompiled: false) }
            if record.boundKey == nil {
                operation = "snapshot the bound and count the rows in scope"
                try snapshot()
            }
            startTrackers()
            operation = "check the disk space"
            try guardrails.diskReserve?.check(beforeStart: true)
            while true {
                if record.isExhausted { return .completed(try finish(.completed, message: nil)) }
                if let reason = stop.reason {
                    let message = "interrupted by \(reason) after key \(record.cursorKey ?? record.startKey ?? 0)"
                    return .interrupted(try finish(.interrupted, message: message), reason)
                }
                if let passed = guardrails.limitReached() {
                    // A guardrail stop: recorded `interrupted` (resume continues it), reported with the guardrail's
                    // error (exit 6), never as a failed query.
                    _ = try finish(.interrupted, message: "stopped after key \(record.cursorKey ?? record.startKey ?? 0): \(passed.message)")
                    throw passed
                }
                operation = "batch \(record.batches + 1) (keys after \(record.cursorKey ?? record.startKey ?? 0))"
                let seconds = try batch()
                progress(record)
                operation = "checkpoint the WAL"
                try checkpointIfNeeded()
                pause(after: seconds)
            }
        } catch let error as DurableIOError where error.failureClass == .guardrail {
            throw error
        } catch {
            throw fail(operation, error)
        }
    }

    // MARK: Queries

    /// The batch's rows as they were: the key, then every column.
    var selectSQL: String {
        let d = record.definition
        return "SELECT \(d.quotedKey), * FROM \(d.quotedTable) WHERE \(d.quotedKey) > ? AND \(d.quotedKey) <= ? AND \(d.scope) ORDER BY \(d.quotedKey) LIMIT ?"
    }

    /// The update over the batch's key range, returning the rows as they are now.
    var updateSQL: String {
        let d = record.definition
        return "UPDATE \(d.quotedTable) SET \(d.setClause) WHERE \(d.quotedKey) > ? AND \(d.quotedKey) <= ? AND \(d.scope) RETURNING \(d.quotedKey), *"
    }

    /// Records the bound (largest key now), the rows in scope up to it, the first key in scope, and the key density,
    /// all read in one read transaction so they agree.
    mutating func snapshot() throws {
        let d = record.definition
        let (bound, total, first, density) = try queue.inDatabase { db in
            var result: (Int64?, Int, Int64?, Double) = (nil, 0, nil, 1)
            try db.inTransaction(.deferred) {
                let bound = try key(DatabaseValue.fetchOne(db, sql: "SELECT max(\(d.quotedKey)) FROM \(d.quotedTable)"), "the largest key")
                guard let bound else { return .commit }
                let scope = try Row.fetchOne(
                    db, sql: "SELECT count(*), min(\(d.quotedKey)) FROM \(d.quotedTable) WHERE \(d.quotedKey) <= ? AND \(d.scope)",
                    arguments: [bound])!
                let all = try Row.fetchOne(
                    db, sql: "SELECT count(*), min(\(d.quotedKey)) FROM \(d.quotedTable) WHERE \(d.quotedKey) <= ?",
                    arguments: [bound])!
                let allCount: Int = all[0]
                let allMin = try key(all[0 + 1] as DatabaseValue, "the smallest key") ?? bound
                let density = Double(allCount) / max(1, Double(bound - allMin) + 1)
                result = (bound, scope[0], try key(scope[1] as DatabaseValue, "the smallest key in scope"), density)
                return .commit
            }
            return result
        }
        var next = record
        next.boundKey = bound ?? 0
        next.totalRows = total
        next.keyDensity = density
        if let first, let bound {
            let (start, overflow) = first.subtractingReportingOverflow(1)
            if overflow { throw DurableSQLiteError.backfill(.invalidDefinition, operation: "snapshot", backfill: name, database: database, message: "the smallest key is Int64.min, which a cursor cannot precede", hint: "Use another key column.") }
            next.startKey = start
            next.cursorKey = start
            _ = bound
        } else {
            next.startKey = bound ?? 0
            next.cursorKey = bound ?? 0
        }
        next.updatedAt = BackfillTable.now()
        let snapshot = next
        try queue.inDatabase { db in try db.inTransaction(.immediate) { try BackfillTable.save(snapshot, db); return .commit } }
        record = next
    }

    /// An integer key from a value read, `nil` for NULL; throws for a value that is not an integer.
    func key(_ value: DatabaseValue?, _ what: String) throws -> Int64? {
        guard let value, !value.isNull else { return nil }
        guard let key = Int64.fromDatabaseValue(value), case .int64 = value.storage else {
            throw DurableSQLiteError.backfill(
                .invalidDefinition, operation: "read keys", backfill: name, database: database,
                message: "\(what) in column \(record.definition.keyColumn) is not an integer",
                hint: "A backfill walks an integer key: pass --key with rowid or an INTEGER PRIMARY KEY column.")
        }
        return key
    }

    mutating func startTrackers() {
        guard let start = record.startKey, let bound = record.boundKey else { return }
        keys = ProgressTracker(total: Int(clamping: bound - start), options: .init(etaMinimumItems: 1, etaMinimumSeconds: 2))
        keys.skip(Int(clamping: (record.cursorKey ?? start) - start))
    }

    // MARK: Finishing

    /// Records a final status (or `interrupted`) and returns the record.
    mutating func finish(_ status: BackfillStatus, message: String?) throws -> BackfillRecord {
        var next = record
        next.status = status
        next.message = message
        next.updatedAt = BackfillTable.now()
        next.finishedAt = next.updatedAt
        if status == .completed { next.etaSeconds = 0 }
        if isWAL { next.walBytes = BackfillConnection.walSize(of: database) }
        let final = next
        try queue.inDatabase { db in try db.inTransaction(.immediate) { try BackfillTable.save(final, db); return .commit } }
        record = next
        return next
    }

    /// Records `failed` with the error's message (from the committed record: a failed batch rolled back) and
    /// returns the error to throw.
    func fail(_ operation: String, _ error: any Error) -> DurableSQLiteError {
        let message = (error as? DurableSQLiteError)?.message ?? "\(error)"
        let code = (error as? DurableSQLiteError)?.code ?? .queryFailed
        var resume = "Fix the cause, then continue with: durable-backfill resume --db \(ShellWord.quoted(database)) --name \(ShellWord.quoted(name))"
        do {
            let recorded = try queue.inDatabase { db -> BackfillRecord in
                var failed = try BackfillTable.load(name, db) ?? record
                failed.status = .failed
                failed.message = "\(operation): \(message)"
                failed.updatedAt = BackfillTable.now()
                failed.finishedAt = failed.updatedAt
                failed.etaSeconds = nil
                try db.inTransaction(.immediate) { try BackfillTable.save(failed, db); return .commit }
                return failed
            }
            let done = "\(recorded.examinedRows.formatted) rows examined before it, cursor at key \(recorded.cursorKey ?? recorded.startKey ?? 0)"
            if recorded.changedNoRow {
                resume += ". If the definition itself is wrong (a typo in --set or --where), run it again with the corrected definition and --replace: it changed no row, so its record can be replaced"
            }
            return DurableSQLiteError.backfill(
                code, operation: operation, backfill: name, database: database, message: "\(message) (\(done); recorded as failed)",
                hint: resume)
        } catch {
            return DurableSQLiteError.backfill(
                code, operation: operation, backfill: name, database: database,
                message: "\(message); recording the failure failed too: \(error)",
                hint: "The progress table may still say 'running'; `status` reports it as interrupted once this process ends. " + resume)
        }
    }

    // MARK: Pacing

    /// Sleeps nice ratio × the batch's time plus the fixed yield, in short slices so a stop is seen at once.
    func pause(after seconds: Double) {
        let total = record.options.niceRatio * seconds + record.options.fixedYield.seconds
        guard total > 0 else { return }
        let end = monotonicSeconds() + total
        while !stop.isRequested {
            let left = end - monotonicSeconds()
            if left <= 0 { return }
            Thread.sleep(forTimeInterval: min(left, 0.02))
        }
    }

    /// Between batches, in WAL mode: records the WAL's size and truncates it once it passes the threshold.
    mutating func checkpointIfNeeded() throws {
        guard isWAL else { return }
        let size = BackfillConnection.walSize(of: database)
        record.walPeakBytes = max(record.walPeakBytes ?? 0, size)
        record.walBytes = size
        guard size > record.options.checkpointThreshold else { return }
        let options = record.options
        _ = try queue.inDatabase { db in
            try BackfillConnection.checkpoint(db, busyTimeout: options.checkpointBusyTimeout, normalTimeout: options.busyTimeout)
        }
        record.walBytes = BackfillConnection.walSize(of: database)
    }
}

/// Monotonic seconds.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
