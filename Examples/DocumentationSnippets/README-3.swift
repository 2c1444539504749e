// snippet.of README.md 3 — the Quick start's guardrails (see README-1.swift for how snippets are checked).
import DurableIO

enum QuickStartGuardrails {
    static func process(_ batch: ArraySlice<String>) async throws {}

    static func body(pending: [String], batches: [ArraySlice<String>]) async throws {
// snippet.show
let guardrails = Guardrails(total: pending.count, memoryLimit: 4_000_000_000, stallTimeout: .seconds(300))
try await guardrails.run {
    for batch in batches { try await process(batch); try guardrails.afterBatch(completed: batch.count) }
}
// snippet.hide
    }
}
