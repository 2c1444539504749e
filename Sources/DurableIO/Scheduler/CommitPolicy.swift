/// When a ``Scheduler`` commits the results its items produce: the one thing each run chooses for itself.
///
/// - ``eachItem(_:)``: durable per item. The commit runs in the item's own task, right after the item, and the
///   item counts as finished (progress, the next acknowledgement) only once it returned; concurrent items commit
///   concurrently, so a group commit can share their syncs. A kill loses at most the items in flight.
/// - ``batches(count:interval:pending:commit:)``: the run buffers finished results itself (in the `onResult` of
///   ``Scheduler/run(_:attempt:onAbandoned:onResult:)``), and the scheduler calls `commit` between items once `count` are pending or `interval` has passed
///   since the last commit with at least one pending — whichever comes first. A kill loses the uncommitted batch.
///
/// ```swift
/// let durable = CommitPolicy<Row>.eachItem { row in
///     try await staging.append(row)      // the row is durable first …
///     try await ledger.insert(row.key)   // … then its key
/// }
/// let batched = CommitPolicy<ItemResult>.batches(
///     count: 100, interval: .seconds(5), pending: { buffer.count }, commit: { try await buffer.commit() })
/// ```
package enum CommitPolicy<Result: Sendable>: Sendable {
    /// Commits each result in its item's task before the item counts as finished.
    case eachItem(@Sendable (Result) async throws -> Void)
    /// Commits what the run buffered once `count` results are pending or `interval` has passed since the last
    /// commit; `pending` says how many are buffered, `commit` commits them (and empties the buffer).
    case batches(
        count: Int, interval: Duration, pending: @Sendable () -> Int, commit: @Sendable () async throws -> Void)

    /// Whether a batch is due with `pending` results buffered, `sinceLastCommit` after the last commit; never for
    /// ``eachItem(_:)``.
    func isDue(pending: Int, sinceLastCommit: Duration) -> Bool {
        guard case .batches(let count, let interval, _, _) = self else { return false }
        return pending >= count || (pending > 0 && sinceLastCommit >= interval)
    }
}
