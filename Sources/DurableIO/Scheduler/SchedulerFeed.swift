/// Where a ``Scheduler`` takes the items it starts: a list known up front (``ItemList``), or a source that
/// fetches more as it goes (a worker claiming items from a shared store).
///
/// Each turn of the scheduler's loop calls ``prepare(inFlight:commit:)`` once, then ``next()`` while a slot is
/// free and no stop was requested; the loop ends when nothing is in flight and the feed ``isExhausted`` (or a
/// stop was requested).
///
/// ```swift
/// struct Claims: SchedulerFeed {
///     var queue: [Item] = []
///     var isExhausted = false
///     mutating func prepare(inFlight: Int, commit: () async throws -> Void) async throws {
///         if queue.isEmpty { queue = try await store.claim(limit: 8) }
///         if queue.isEmpty && inFlight == 0 { try await commit(); isExhausted = true }
///     }
///     mutating func next() -> Item? { queue.isEmpty ? nil : queue.removeFirst() }
/// }
/// ```
package protocol SchedulerFeed {
    /// What the feed hands out.
    associatedtype Item: Sendable

    /// Called once per turn, before items are started: the place to fetch more. `inFlight` items are running;
    /// `commit` commits what is pending now (under a batch policy; it also restarts the batch interval).
    mutating func prepare(inFlight: Int, commit: () async throws -> Void) async throws

    /// The next item to start now, or `nil` when none is ready.
    mutating func next() -> Item?

    /// Whether no item will come again.
    var isExhausted: Bool { get }
}

extension SchedulerFeed {
    /// Nothing to prepare.
    package mutating func prepare(inFlight: Int, commit: () async throws -> Void) async throws {}
}
