import GRDB

extension BackfillDefinition {
    /// Throws unless the key column is `rowid` (or an alias of it) or leads an index: otherwise every batch would
    /// scan the table to find the keys after the cursor, and the backfill would cost O(table) per batch.
    func checkKeyIsIndexed(_ db: Database, database: String) throws {
        guard try db.tableExists(table) else { return }  // the compiled queries report a missing table
        let key = keyColumn.lowercased()
        if ["rowid", "_rowid_", "oid"].contains(key) { return }
        let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(\(quotedTable))")
        let primaryKeys = columns.filter { ($0["pk"] as Int? ?? 0) > 0 }
        if primaryKeys.count == 1, let only = primaryKeys.first, (only["name"] as String?)?.lowercased() == key,
            (only["type"] as String?)?.uppercased() == "INTEGER"
        {
            return  // an INTEGER PRIMARY KEY is the rowid
        }
        for index in try Row.fetchAll(db, sql: "PRAGMA index_list(\(quotedTable))") {
            let name: String = index["name"]
            let first = try Row.fetchOne(db, sql: "PRAGMA index_info(\(Self.quote(name)))")
            if (first?["name"] as String?)?.lowercased() == key { return }
        }
        throw DurableSQLiteError.backfill(
            .invalidDefinition, operation: "check the key column", backfill: self.name, database: database,
            message: "column \(keyColumn) of \(table) is neither the rowid nor the first column of an index: every batch would scan the whole table",
            hint: "Use --key rowid (or the table's INTEGER PRIMARY KEY), or create an index on \(keyColumn) first.")
    }
}
