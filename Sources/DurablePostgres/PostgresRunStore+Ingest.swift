import DurableRunStore
import Foundation
import PostgresNIO

extension PostgresRunStore {
    /// Ingests `source` in one transaction (all items or none), unless a version with its checksum is stored.
    /// Items stream from the file (a piece at a time, see `SourceCursor`) into one `COPY … FROM STDIN`, so memory
    /// stays bounded however large the source; the transaction is cut off only when the server stops answering for
    /// ``operationTimeout``, never for taking long. A file found bad part-way rolls back: nothing is stored.
    /// Concurrent ingests of one source name are serialised by a transaction-scoped advisory lock, so the same file
    /// ingested by two workers at once is stored once.
    ///
    /// See `RunStore.ingest(_:allowNewVersion:)`.
    public func ingest(_ source: SourceFile, allowNewVersion: Bool) async throws -> IngestReport {
        let (checksum, versions): (String, [SourceVersion])
        switch try await ingestStart(source, allowNewVersion: allowNewVersion) {
        case .skipped(let report): return report
        case .store(let sum, let stored): (checksum, versions) = (sum, stored)
        }
        let columns = String(decoding: try JSONEncoder().encode(source.idColumns), as: UTF8.self)
        let sent = IngestTally()
        do {
            return try await ingestTransaction(
                source, allowNewVersion: allowNewVersion, checksum: checksum, versions: versions, columns: columns, sent: sent)
        } catch let error as DurablePostgresError where error.code == .unreachable {
            throw sent.explaining(error, source: source)
        }
    }

    /// The ingest's one transaction: the version is chosen under an advisory lock, then the items are copied.
    private func ingestTransaction(
        _ source: SourceFile, allowNewVersion: Bool, checksum: String, versions: [SourceVersion], columns: String,
        sent: IngestTally
    ) async throws -> IngestReport {
        let logger = self.logger
        return try await transaction("ingest", reportingProgress: { connection, progress in
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
                    VALUES (\(source.name), \(version), \(source.format.rawValue), \(columns), \(checksum), 0, now())
                    RETURNING id
                    """, logger: logger)
            ).first!.decode(Int64.self)
            let count: Int
            do {
                count = try await Self.copyItems(
                    of: source, into: sourceID, on: connection, progress: progress, tally: sent, logger: logger)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                // The unique (source, key) index refused an id seen before: find which, for the message.
                throw try Self.firstDuplicate(in: source) ?? error
            }
            try await connection.query("UPDATE sources SET item_count = \(count) WHERE id = \(sourceID)", logger: logger)
            let row = try await Self.collect(
                try await connection.query("SELECT \(unescaped: Self.sourceColumns) FROM sources WHERE id = \(sourceID)", logger: logger)
            ).first!
            return IngestReport(source: try Self.sourceVersion(row), skipped: false)
        })
    }

    /// Streams the items of `source` into `source_items` with one `COPY` (text format), in writes of about 256 KiB.
    /// - Returns: the number of items.
    private static func copyItems(
        of source: SourceFile, into sourceID: Int64, on connection: PostgresConnection, progress: Deadline.Progress,
        tally: IngestTally, logger: Logger
    ) async throws -> Int {
        var cursor = try SourceCursor(source)
        var position = 0
        var sent = 0
        try await connection.copyFrom(
            table: "source_items", columns: ["source_id", "item_key", "position", "data"], logger: logger
        ) { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(300 << 10)
            let prefix = "\(sourceID)\t"
            while let item = try cursor.next() {
                buffer.writeString(prefix)
                CopyText.append(item.key, to: &buffer)
                buffer.writeString("\t\(position)\t")
                CopyText.append(item.json, to: &buffer)
                buffer.writeInteger(UInt8(ascii: "\n"))
                position += 1
                if buffer.readableBytes >= 256 << 10 {
                    sent += buffer.readableBytes
                    try await writer.write(buffer)
                    tally.record(items: position, bytes: sent)
                    progress.beat()
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 {
                sent += buffer.readableBytes
                try await writer.write(buffer)
            }
            tally.record(items: position, bytes: sent, allSent: true)
            // The end of the COPY and the commit flush what the transaction wrote (indexes included, several times
            // the bytes sent) and answer only then: allow them a second per 10 MB sent on top of the limit (a
            // 10-million-item ingest ran past 15 s there on a loaded machine).
            progress.beat(allowing: .milliseconds(sent / 10_000))
        }
        return position
    }

    /// The error for the first item whose id an earlier item has (read again from the file: only on this path is a
    /// set of every key held), or `nil` when the file has none.
    private static func firstDuplicate(in source: SourceFile) throws -> DurableRunStoreError? {
        var seen: Set<String> = []
        var position = 0
        var cursor = try SourceCursor(source)
        while let item = try cursor.next() {
            position += 1
            if !seen.insert(item.key).inserted { return DurableRunStoreError.duplicateItemID(in: source, position: position) }
        }
        return nil
    }
}
