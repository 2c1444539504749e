import DurableRunStore
import Foundation
import PostgresNIO

extension PostgresRunStore {
    /// Ingests `source` in one transaction (all items or none), unless a version with its checksum is stored.
    /// Items go in as multi-row inserts of 1,000. Concurrent ingests of one source name are serialised by a
    /// transaction-scoped advisory lock, so the same file ingested by two workers at once is stored once.
    ///
    /// See `RunStore.ingest(_:allowNewVersion:)`.
    public func ingest(_ source: SourceFile, allowNewVersion: Bool) async throws -> IngestReport {
        let (checksum, versions): (String, [SourceVersion])
        switch try await ingestStart(source, allowNewVersion: allowNewVersion) {
        case .skipped(let report): return report
        case .store(let sum, let stored): (checksum, versions) = (sum, stored)
        }
        // Read (and check) the whole file before touching the database: a bad file stores nothing.
        var items: [(key: String, json: String)] = []
        var seen: Set<String> = []
        try SourceReader.read(source) { key, json in
            guard seen.insert(key).inserted else {
                throw DurableRunStoreError.duplicateItemID(in: source, position: items.count + 1)
            }
            items.append((key, json))
        }
        let columns = String(decoding: try JSONEncoder().encode(source.idColumns), as: UTF8.self)
        let logger = self.logger
        let count = items.count
        let chunks = stride(from: 0, to: items.count, by: 1000).map { Array(items[$0..<min($0 + 1000, items.count)]) }
        return try await transaction("ingest") { connection in
            // Two workers ingesting the same file at once ingest it once: the second waits for the first's
            // commit here, then finds its version and applies the same rule as above.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtext(\("durable.ingest:" + source.name)))", logger: logger)
            let stored = try await Self.collect(
                try await connection.query(
                    "SELECT \(unescaped: Self.sourceColumns) FROM sources WHERE name = \(source.name) ORDER BY version",
                    logger: logger)
            ).map(Self.sourceVersion)
            if let same = try SourceVersion.alreadyIngested(
                source, checksum: checksum, among: stored, allowNewVersion: allowNewVersion && stored.count == versions.count)
            {
                return IngestReport(source: same, skipped: true)
            }
            let version = (stored.last?.version ?? 0) + 1
            let sourceID = try await Self.collect(
                try await connection.query(
                    """
                    INSERT INTO sources (name, version, format, id_columns, data_checksum, item_count, ingested_at)
                    VALUES (\(source.name), \(version), \(source.format.rawValue), \(columns), \(checksum), \(count), now())
                    RETURNING id
                    """, logger: logger)
            ).first!.decode(Int64.self)
            var position = 0
            for chunk in chunks {
                var bindings = PostgresBindings(capacity: chunk.count * 3 + 1)
                bindings.append(sourceID)
                var values: [String] = []
                for item in chunk {
                    let n = bindings.count
                    bindings.append(item.key)
                    bindings.append(position)
                    bindings.append(item.json)
                    values.append("($1, $\(n + 1), $\(n + 2), $\(n + 3))")
                    position += 1
                }
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO source_items (source_id, item_key, position, data) VALUES " + values.joined(separator: ", "),
                        binds: bindings), logger: logger)
            }
            let row = try await Self.collect(
                try await connection.query("SELECT \(unescaped: Self.sourceColumns) FROM sources WHERE id = \(sourceID)", logger: logger)
            ).first!
            return IngestReport(source: try Self.sourceVersion(row), skipped: false)
        }
    }
}
