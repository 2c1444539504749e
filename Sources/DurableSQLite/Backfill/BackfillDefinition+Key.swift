import GRDB

extension BackfillDefinition {
    /// Throws when the `SET` clause assigns the key column — or, when the key is the rowid or an
    /// `INTEGER PRIMARY KEY` (an alias of it), any name of the rowid: batches walk the keys, and an update that
    /// moves them would renumber rows, skip some and visit others twice.
    ///
    /// SQLite says which columns the update assigns: its authorizer reports each one as the statement compiles
    /// (GRDB hands them to transaction observers before the statement runs). The check runs the update with a
    /// predicate that matches no row inside a savepoint it rolls back, so it changes nothing.
    ///
    /// - Parameter whenCompiled: `true` to skip the check when the update does not compile (the batch queries
    ///   report that error, with the failure recorded); `false` to throw the compile error.
    func refuseKeyAssignment(_ db: Database, database: String, whenCompiled: Bool) throws {
        let observer = AssignedColumns(table: table)
        db.add(transactionObserver: observer)
        defer { db.remove(transactionObserver: observer) }
        do {
            try db.inSavepoint {
                try db.execute(sql: "UPDATE \(quotedTable) SET \(setClause) WHERE 0")
                return .rollback
            }
        } catch let error as DatabaseError where whenCompiled {
            _ = error
            return
        }
        let keyNames = try namesOfKey(db)
        guard let assigned = observer.columns.first(where: { keyNames.contains($0.lowercased()) }) else { return }
        throw DurableSQLiteError.backfill(
            .invalidDefinition, operation: "check the definition", backfill: name, database: database,
            message: "--set assigns the key \(assigned == "ROWID" ? "(the rowid)" : "column \(assigned)") of \(table), which the batches walk: it would renumber the rows; nothing was changed or recorded",
            hint: "Leave the key (\(keyNames.sorted().joined(separator: ", "))) out of --set. To renumber keys, use a migration of its own, not a backfill.")
    }

    /// The lowercased names that denote the key: the column itself, and for the rowid or an `INTEGER PRIMARY KEY`
    /// every alias of the rowid (the authorizer reports a rowid alias as `ROWID`).
    private func namesOfKey(_ db: Database) throws -> Set<String> {
        let key = keyColumn.lowercased()
        let rowidNames: Set<String> = ["rowid", "_rowid_", "oid"]
        let primaryKeys = try Row.fetchAll(db, sql: "PRAGMA table_info(\(quotedTable))").filter { ($0["pk"] as Int? ?? 0) > 0 }
        var integerPrimaryKey: String?
        if primaryKeys.count == 1, let only = primaryKeys.first, (only["type"] as String?)?.uppercased() == "INTEGER" {
            integerPrimaryKey = (only["name"] as String?)?.lowercased()
        }
        if rowidNames.contains(key) || key == integerPrimaryKey {
            return rowidNames.union(integerPrimaryKey.map { [$0] } ?? [])
        }
        return [key]
    }
}

/// Collects the columns of `table` that a statement assigns, as SQLite's authorizer reports them to GRDB.
private final class AssignedColumns: TransactionObserver {
    let table: String
    private(set) var columns: Set<String> = []

    init(table: String) { self.table = table }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        if case .update(let tableName, let columnNames) = eventKind, tableName.lowercased() == table.lowercased() {
            columns.formUnion(columnNames)
        }
        return false
    }

    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) {}
    func databaseDidRollback(_ db: Database) {}
}
