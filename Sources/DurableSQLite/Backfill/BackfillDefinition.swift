/// What a backfill changes: one `UPDATE <table> SET <set> WHERE <predicate>`, applied in keyset batches.
///
/// The key column must be an integer key of the table (`rowid`, or an `INTEGER PRIMARY KEY` column); batches walk
/// it in ascending order. ``setClause`` is the text after `SET` and ``predicate`` the text after `WHERE`, both SQL
/// written by the operator (they are not parameters: only run definitions you trust). The `SET` clause must not
/// change the key.
///
/// The result equals the one-shot `UPDATE` only when the `SET` expression depends on the row itself and on data
/// the backfill does not change while it runs: a batch reads other tables at the moment it runs, not at the start.
///
/// ```swift
/// let definition = BackfillDefinition(
///     name: "tx_last_seen_backfill_v1", table: "transmissions",
///     set: "last_seen = COALESCE((SELECT MAX(timestamp) FROM observations WHERE transmission_id = transmissions.id), last_seen)",
///     where: "last_seen = 0", key: "id")
/// ```
public struct BackfillDefinition: Sendable, Codable, Equatable {
    /// A name unique within the database: letters, digits, `_`, `-` and `.`, at most 100 characters.
    public var name: String
    /// The table to update.
    public var table: String
    /// The integer key column batches walk (default `rowid`).
    public var keyColumn: String
    /// The assignments after `SET`, e.g. `last_seen = COALESCE(…, last_seen)`.
    public var setClause: String
    /// The condition after `WHERE`, if any. Rows that do not match are skipped, not examined.
    public var predicate: String?

    /// Creates a definition.
    public init(name: String, table: String, set setClause: String, where predicate: String? = nil, key keyColumn: String = "rowid") {
        self.name = name
        self.table = table
        self.keyColumn = keyColumn
        self.setClause = setClause
        self.predicate = predicate
    }

    /// Throws when the definition cannot be run (before anything is written).
    func validate(database: String) throws(DurableSQLiteError) {
        func invalid(_ message: String, _ hint: String) -> DurableSQLiteError {
            DurableSQLiteError.backfill(.invalidDefinition, operation: "check the definition", backfill: name, database: database, message: message, hint: hint)
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
        if name.isEmpty || name.count > 100 || !name.allSatisfy(allowed.contains) || name.hasPrefix(".") {
            throw invalid("the name \"\(name)\" is not usable", "Use 1 to 100 letters, digits, '_', '-' or '.', not starting with '.'.")
        }
        if table.isEmpty { throw invalid("the table name is empty", "Pass the table to update.") }
        if keyColumn.isEmpty { throw invalid("the key column is empty", "Pass an integer key column, or leave it out for rowid.") }
        if setClause.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw invalid("the SET clause is empty", "Pass the assignments, e.g. --set 'col = expr'.")
        }
        if let predicate, predicate.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw invalid("the WHERE predicate is empty", "Leave --where out to update every row.")
        }
    }

    /// The table, quoted as an SQL identifier.
    var quotedTable: String { Self.quote(table) }
    /// The key column, quoted as an SQL identifier.
    var quotedKey: String { Self.quote(keyColumn) }
    /// The predicate in parentheses, or `1`.
    var scope: String { predicate.map { "(\($0))" } ?? "1" }

    static func quote(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}

import Foundation
