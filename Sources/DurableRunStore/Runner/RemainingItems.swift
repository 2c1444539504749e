import DurableIO

/// The ``SchedulerFeed`` of a run on one host: the items still to do, read from the store a page at a time (after
/// the last position handed out), so the first item starts after one page is read and memory holds one page, however
/// many items are left.
///
/// Paging forward by position is exact while the session commits: the items it handed out are all at or before the
/// last position, and later pages only look after it.
///
/// ```swift
/// var feed = RemainingItems(store: store, runID: run.id, selection: .missingOnly)
/// try await scheduler.run(&feed, attempt: attempt, onResult: record)
/// ```
struct RemainingItems: SchedulerFeed {
    /// The items read at a time.
    static let pageSize = 1_000

    let store: any RunStore
    let runID: String
    let selection: WorkSelection
    private var page: [SourceItem] = []
    private var nextInPage = 0
    private var lastPosition: Int?
    private var readToTheEnd = false
    /// The items handed out so far.
    private(set) var started = 0

    init(store: any RunStore, runID: String, selection: WorkSelection) {
        self.store = store
        self.runID = runID
        self.selection = selection
    }

    mutating func prepare(inFlight: Int, commit: () async throws -> Void) async throws {
        guard nextInPage == page.count, !readToTheEnd else { return }
        page = try await store.remainingItems(forRun: runID, selection: selection, after: lastPosition, limit: Self.pageSize)
        nextInPage = 0
        lastPosition = page.last?.position ?? lastPosition
        readToTheEnd = page.count < Self.pageSize
    }

    mutating func next() -> SourceItem? {
        guard nextInPage < page.count else { return nil }
        defer {
            nextInPage += 1
            started += 1
        }
        return page[nextInPage]
    }

    var isExhausted: Bool { readToTheEnd && nextInPage == page.count }
}
