import DurableIO
import Foundation

/// The durability step of each completed item of a ``CheckpointedRun``: its row synced into staging, then its key
/// into the ledger, before the item counts as done — shared by the items that complete close together.
///
/// One committer at a time takes every item waiting, appends their rows with one write and one sync, then their
/// keys with one write and one sync, and resumes them (each with the outcome: a failed write or sync fails every
/// item of the batch, none of which is acknowledged). Before it takes them, while other items are still running,
/// it waits for them — at most as long as its previous commit took (never over 2 ms), and not at all when no other
/// item runs (`--jobs 1`, the last item): a sync one more item shares costs nothing more, and a wait no longer
/// than a commit at most doubles an item's wait for durability. PostgreSQL's `commit_delay` with
/// `commit_siblings`, with the window set by the disk. Trivial items at `--jobs 8` arrive about 0.6 ms apart,
/// longer than a sync takes, so without the wait almost every sync held one item (issue 18, target 1).
///
/// ```swift
/// let commits = ItemCommits(staging: staging, ledger: ledger)
/// commits.started()
/// do { try await commits.commit(try await extract(key)) }   // the row in staging and its key in the ledger, synced
/// catch { commits.abandoned() }                             // a failed item: nothing to wait for

/// ```
package final class ItemCommits: @unchecked Sendable {
    private let staging: StagingFile
    private let ledger: KeyLedger
    /// Guards everything below; broadcast when an item arrives or is abandoned.
    private let condition = NSCondition()
    private var waiting: [(row: KeyedRow, continuation: CheckedContinuation<Void, any Error>)] = []
    private var committing = false
    /// Items started that have neither arrived to commit nor been abandoned: what a committer may wait for.
    private var running = 0
    private var previousCommit: Duration = .zero
    /// How long to wait for running items, given how long the previous commit took.
    private let window: @Sendable (Duration) -> Duration

    /// The longest a committer waits for running items.
    package static let gatherLimit: Duration = .milliseconds(2)
    private static let threads = ReusableThreads(name: "item commits")

    /// Commits into `staging` and `ledger`; `window` (for tests) replaces "as long as the previous commit, at most
    /// ``gatherLimit``".
    package init(
        staging: StagingFile, ledger: KeyLedger,
        window: @escaping @Sendable (Duration) -> Duration = { min($0, ItemCommits.gatherLimit) }
    ) {
        self.staging = staging
        self.ledger = ledger
        self.window = window
    }

    /// An item's command (or extraction) started: it will arrive at ``commit(_:)`` or be ``abandoned()``.
    package func started() {
        condition.lock()
        running += 1
        condition.unlock()
    }

    /// An item that started will not commit (it failed, or was cancelled): no committer waits for it.
    package func abandoned() {
        condition.lock()
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Makes `row` of an item that ``started()`` durable in staging, then its key in the ledger; returns once both
    /// are synced.
    package func commit(_ row: KeyedRow) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            condition.lock()
            waiting.append((row, continuation))
            running -= 1
            let leads = !committing
            committing = true
            condition.broadcast()
            condition.unlock()
            if leads { Self.threads.start { self.commitWaiting() } }
        }
    }

    /// On a committer thread: commits batches until nobody waits.
    private func commitWaiting() {
        condition.lock()
        while !waiting.isEmpty {
            let window = self.window(previousCommit)
            if running > 0 && window > .zero {
                let deadline = Date(timeIntervalSinceNow: window.seconds)
                while running > 0 && condition.wait(until: deadline) {}
            }
            let batch = waiting
            waiting.removeAll(keepingCapacity: true)
            condition.unlock()
            let started = ContinuousClock.now
            let outcome = Result<Void, any Error> {
                try staging.append(contentsOf: batch.lazy.map(\.row))  // the rows are durable first …
                try ledger.insert(contentsOf: batch.lazy.map(\.row.key))  // … then their keys
            }
            let took = ContinuousClock.now - started
            for item in batch { item.continuation.resume(with: outcome) }
            condition.lock()
            previousCommit = took
        }
        committing = false
        condition.unlock()
    }
}
