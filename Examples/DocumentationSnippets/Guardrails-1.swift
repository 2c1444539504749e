// snippet.of Documentation/Guardrails.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableIO
// snippet.hide

enum GuardrailsExample {
    static func process(_ batch: ArraySlice<String>) async throws {}

    static func body(pending: [String], inputs: [String], census: KeyCensus) async throws {
// snippet.show

try DiskSpace.require(20_000_000_000, at: "/data")          // before any work
let guardrails = Guardrails(
    total: pending.count, memoryLimit: 4_000_000_000,
    heartbeatInterval: .seconds(60), heartbeatRecord: "/data/out.jsonl.heartbeat",
    stallTimeout: .seconds(300), escalation: .exitProcess(code: 1))
try await guardrails.run {
    for start in stride(from: 0, to: pending.count, by: 100) {
        let batch = pending[start..<min(start + 100, pending.count)]
        try await process(batch)
        try guardrails.afterBatch(completed: batch.count)    // progress, stall mark, memory check
    }
}
try OutputValidation.requireFraction(0.99, of: inputs.count, rows: census.rowCount)
// snippet.hide
    }
}
