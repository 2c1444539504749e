extension DurableRunStoreError {
    /// `runNotFound`: no run has the id `id` — the one place this error is built, for every store, the runner and
    /// the worker. `listing` is the store option of the listing command the hint names (`--db FILE`,
    /// `--store URL`).
    ///
    /// ```swift
    /// guard let run = try await store.run(id: id) else {
    ///     throw DurableRunStoreError.runNotFound(id, operation: "resume", listing: "--db FILE")
    /// }
    /// ```
    package static func runNotFound(_ id: String, operation: String, listing: String) -> DurableRunStoreError {
        DurableRunStoreError(
            .runNotFound, operation: operation, message: "no run has the id \(id)",
            hint: "List the runs with: durable-resume list \(listing)")
    }

    /// `duplicateItemID`: item `position` (from 1) of `source` has the id of an earlier item; nothing was stored.
    package static func duplicateItemID(in source: SourceFile, position: Int) -> DurableRunStoreError {
        DurableRunStoreError(
            .duplicateItemID, operation: "ingest",
            message: "\(source.path): item \(position) has the same id as an earlier item (id column(s) \(source.idColumns.joined(separator: ", ")))",
            hint: "Ids must be unique; add a column to the id (--id A --id B) or fix the file. Nothing was stored.")
    }
}
