import DurableIO

/// The record as an operator reads it:
/// `tx_last_seen_backfill_v1: running · 41.2 % by key (cursor 29,250, bound 71,000) · 29,000 examined, 27,900 changed, 1,100 unchanged · 1,234 rows/s · ETA 34s · WAL 3.2 MB (peak 12.0 MB) · updated 2026-11-23T11:02:09.120Z by pid 4242`
extension BackfillRecord: CustomStringConvertible {
    public var description: String {
        var parts = ["\(definition.name): \(status.rawValue)"]
        if let fraction, let bound = boundKey {
            parts.append(String(format: "%.1f %% by key", fraction * 100) + " (cursor \(Int(cursorKey ?? startKey ?? 0).formatted), bound \(Int(bound).formatted))")
        } else {
            parts.append("bound not yet recorded")
        }
        var counts = "\(examinedRows.formatted) examined, \(changedRows.formatted) changed, \(unchangedRows.formatted) unchanged"
        if let totalRows { counts += " of \(totalRows.formatted) in scope at the start" }
        parts.append(counts)
        if status == .running {
            if let rate = rowsPerSecond { parts.append(String(format: "%.0f rows/s", rate)) }
            parts.append("ETA " + (etaSeconds.map(ProgressSnapshot.duration) ?? "unknown"))
        }
        if let wal = walBytes { parts.append("WAL \(Self.megabytes(wal)) (peak \(Self.megabytes(walPeakBytes ?? wal)))") }
        parts.append("\(batches.formatted) batches")
        parts.append("updated \(updatedAt)" + (pid.map { " by pid \($0)" } ?? ""))
        var text = parts.joined(separator: " · ")
        if let message { text += "\n  " + message }
        return text
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
