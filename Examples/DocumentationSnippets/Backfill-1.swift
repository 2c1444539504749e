// snippet.of Documentation/Backfill.md 1 (see README-1.swift for how snippets are checked).
// snippet.show
import DurableSQLite
// snippet.hide
import DurableIO

enum BackfillLibrary {
    static func log(_ record: BackfillRecord) {}

    static func body(stop: StopRequest) throws {
// snippet.show

let definition = BackfillDefinition(
    name: "tx_last_seen_backfill_v1", table: "transmissions",
    set: "last_seen = COALESCE((SELECT MAX(timestamp) FROM observations WHERE transmission_id = transmissions.id), last_seen)",
    where: "last_seen = 0", key: "id")
let outcome = try Backfill.run(definition, in: "app.db", stop: stop) { record in log(record) }
// snippet.hide
        _ = outcome
    }
}
