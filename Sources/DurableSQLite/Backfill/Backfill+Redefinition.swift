import DurableIO

extension Backfill {
    /// What `run` does when a backfill of the same name is recorded: `nil` to go on (with `replace`, over a record
    /// that changed no row), `.alreadyCompleted` for the same definition completed; otherwise it throws, showing the
    /// difference and saying whether `--replace` applies or a new `--name` is needed.
    ///
    /// A record "changed no row" when no batch of it committed: replacing it loses nothing. Once a batch committed,
    /// rows were updated under the recorded definition and its record is the only account of them: it stays.
    static func admit(
        _ definition: BackfillDefinition, over existing: BackfillRecord, replace: Bool, database: String
    ) throws -> BackfillOutcome? {
        let name = definition.name
        let differences = existing.definition.differences(from: definition)
        let changedNothing = existing.changedNoRow
        let resume = "durable-backfill resume --db \(ShellWord.quoted(database)) --name \(ShellWord.quoted(name))"
        let recorded = "recorded \(existing.status.rawValue) after \(existing.batches.formatted) batches that changed \(existing.changedRows.formatted) rows"
        if replace {
            if changedNothing { return nil }
            throw DurableSQLiteError.backfill(
                .backfillExists, operation: "replace", backfill: name, database: database,
                message: "it is \(recorded): --replace replaces only a backfill that changed no row",
                hint: "It has changed rows: choose a new --name for this definition (the recorded backfill stays as it is)"
                    + (existing.status == .completed ? "." : "; or continue the recorded one with: \(resume)"))
        }
        if differences.isEmpty {
            if existing.status == .completed { return .alreadyCompleted(existing) }
            throw DurableSQLiteError.backfill(
                .backfillExists, operation: "start", backfill: name, database: database,
                message: "a backfill with this name is already recorded (\(existing.status.rawValue))",
                hint: "Continue it with: \(resume)"
                    + (changedNothing ? "; or, as it changed no row, start it over with the same command and --replace." : ""))
        }
        throw DurableSQLiteError.backfill(
            .definitionChanged, operation: "start", backfill: name, database: database,
            message: "a backfill with this name is \(recorded), with another definition: \(differences.joined(separator: "; "))",
            hint: changedNothing
                ? "It changed no row: run this command again with --replace to replace its record with the new definition, or choose a new --name."
                : "It has changed rows under the recorded definition: choose a new --name for the new one (the recorded backfill stays as it is).")
    }
}

extension BackfillRecord {
    /// Whether no batch of it committed: it changed no row of the table.
    var changedNoRow: Bool { batches == 0 && changedRows == 0 }
}

extension BackfillDefinition {
    /// What differs from `other`, one entry per option, as the operator typed it:
    /// `--where: recorded 'last_seen = 0', given 'last_seen = 7'`.
    func differences(from other: BackfillDefinition) -> [String] {
        func entry(_ option: String, _ recorded: String?, _ given: String?) -> String? {
            guard recorded != given else { return nil }
            return "\(option): recorded \(recorded.map { "'\($0)'" } ?? "none"), given \(given.map { "'\($0)'" } ?? "none")"
        }
        return [
            entry("--table", table, other.table), entry("--key", keyColumn, other.keyColumn),
            entry("--set", setClause, other.setClause), entry("--where", predicate, other.predicate),
        ].compactMap { $0 }
    }
}
