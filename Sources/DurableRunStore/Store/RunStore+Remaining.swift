extension RunStore {
    /// Every item still to do, in source order, read page by page into one array: for a small run, a test or an
    /// export. A run itself pages (``RunStore/remainingItems(forRun:selection:after:limit:)``), so its memory does
    /// not grow with the items left.
    ///
    /// ```swift
    /// let errored = try await store.remainingItems(forRun: id, selection: .retryErrorsOnly)
    /// ```
    public func remainingItems(forRun id: String, selection: WorkSelection) async throws -> [SourceItem] {
        var items: [SourceItem] = []
        let limit = 10_000
        while true {
            let page = try await remainingItems(forRun: id, selection: selection, after: items.last?.position, limit: limit)
            items += page
            if page.count < limit { return items }
        }
    }
}
