import DurableIO

// The core's records as `--json` outputs print them: every key present (`null` when unknown), snake_case once
// ``JSONOutput`` encodes them. The records themselves are persisted (the lock file's owner record, the heartbeat
// file) and keep their own keys there; these types are presentation only.

/// A lock file's owner record as `--json` prints it.
///
/// ```swift
/// if let owner = FileLock.holder(of: "out.jsonl.lock") { try JSONOutput.print(LockOwnerJSON(owner), schema: 2) }
/// ```
package struct LockOwnerJSON: Encodable, Sendable {
    var pid: Int32
    var host: String
    @JSONNullable var processStart: String?
    var acquiredAt: String
    var token: Int
    var nonce: String
    var command: String

    package init(_ owner: LockOwner) {
        pid = owner.pid
        host = owner.host
        processStart = owner.processStart
        acquiredAt = owner.acquiredAt
        token = owner.token
        nonce = owner.nonce
        command = owner.command
    }
}

/// Who holds a lock, as `--json` prints it: the kernel's holder and the owner record, which may be stale.
///
/// ```swift
/// if let holder = FileLock.exclusiveHolder(of: "out.jsonl.lock") { try JSONOutput.print(LockHolderJSON(holder), schema: 2) }
/// ```
package struct LockHolderJSON: Encodable, Sendable {
    @JSONNullable var pid: Int32?
    @JSONNullable var processName: String?
    @JSONNullable var record: LockOwnerJSON?
    var recordIsStale: Bool

    package init(_ holder: FileLock.Holder) {
        pid = holder.pid
        processName = holder.processName
        record = holder.record.map(LockOwnerJSON.init)
        recordIsStale = holder.recordIsStale
    }
}

/// A progress snapshot as `--json` prints it.
///
/// ```swift
/// try JSONOutput.print(ProgressJSON(tracker.snapshot()), schema: 2)
/// ```
package struct ProgressJSON: Encodable, Sendable {
    @JSONNullable var total: Int?
    var completed: Int
    var failed: Int
    var skipped: Int
    @JSONNullable var ratePerSecond: Double?
    @JSONNullable var etaSeconds: Double?
    var elapsedSeconds: Double
    var secondsSinceProgress: Double

    package init(_ snapshot: ProgressSnapshot) {
        total = snapshot.total
        completed = snapshot.completed
        failed = snapshot.failed
        skipped = snapshot.skipped
        ratePerSecond = snapshot.ratePerSecond
        etaSeconds = snapshot.etaSeconds
        elapsedSeconds = snapshot.elapsedSeconds
        secondsSinceProgress = snapshot.secondsSinceProgress
    }
}

/// A heartbeat record as `--json` prints it.
///
/// ```swift
/// if let beat = Heartbeat.lastBeat(at: "out.jsonl.heartbeat") { try JSONOutput.print(HeartbeatJSON(beat), schema: 2) }
/// ```
package struct HeartbeatJSON: Encodable, Sendable {
    var beatAt: String
    var pid: Int32
    var progress: ProgressJSON

    package init(_ record: HeartbeatRecord) {
        beatAt = record.beatAt
        pid = record.pid
        progress = ProgressJSON(record.progress)
    }
}
