import DurableRunStore
import Foundation
import GRDB

extension SQLiteRunStore {
    /// Ingests `source` in one immediate transaction (all items or none), unless a version with its checksum is
    /// stored — checked again under the write lock, so two processes ingesting the same file at once store it once
    /// (the second uses the version the first stored).
    ///
    /// See `RunStore.ingest(_:allowNewVersion:)`.
    public func ingest(_ source: SourceFile, allowNewVersion: Bool) async throws -> IngestReport {
        let checksum: String
        switch try await ingestStart(source, allowNewVersion: allowNewVersion) {
        case .skipped(let report): return report
        case .store(let sum, _): checksum = sum
        }
        let columns = SourceReader.json(source.idColumns)
        let now = Timestamp.string(Date())
        return try await writing("ingest \(source.path)") { db in
            if let same = try SourceVersion.alreadyIngested(
                source, checksum: checksum, among: try Self.sourceVersions(db, named: source.name),
                allowNewVersion: allowNewVersion)
            {
                return IngestReport(source: same, skipped: true)
            }
            let version = (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM sources WHERE name = ?", arguments: [source.name]) ?? 0) + 1
            try db.execute(
                sql: """
                    INSERT INTO sources (name, version, format, id_columns, data_checksum, item_count, ingested_at)
                    VALUES (?, ?, ?, ?, ?, 0, ?)
                    """,
                arguments: [source.name, version, source.format.rawValue, columns, checksum, now])
            let sourceID = db.lastInsertedRowID
            let insert = try db.makeStatement(
                sql: "INSERT INTO source_items (source_id, item_key, position, data) VALUES (?, ?, ?, ?)")
            var position = 0
            try SourceReader.read(source) { key, json in
                do {
                    try insert.execute(arguments: [sourceID, key, position, json])
                } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                    throw DurableRunStoreError.duplicateItemID(in: source, position: position + 1)
                }
                position += 1
            }
            try db.execute(sql: "UPDATE sources SET item_count = ? WHERE id = ?", arguments: [position, sourceID])
            let row = try Row.fetchOne(db, sql: "SELECT * FROM sources WHERE id = ?", arguments: [sourceID])!
            return IngestReport(source: try Self.sourceVersion(row), skipped: false)
        }
    }
}
