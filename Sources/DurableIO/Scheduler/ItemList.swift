/// A ``SchedulerFeed`` over items known before the run starts, handed out in order.
///
/// ```swift
/// var feed = ItemList(pendingKeys)
/// try await scheduler.run(&feed, attempt: extract, onResult: { _ in .keepStarting })
/// print(feed.started)   // how many were started before a stop
/// ```
package struct ItemList<Item: Sendable>: SchedulerFeed {
    /// The items.
    package let items: [Item]
    /// How many have been handed out.
    package private(set) var started = 0

    /// A feed over `items`.
    package init(_ items: [Item]) { self.items = items }

    package mutating func next() -> Item? {
        guard started < items.count else { return nil }
        defer { started += 1 }
        return items[started]
    }

    package var isExhausted: Bool { started >= items.count }
}
