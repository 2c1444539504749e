import DurableSQLite
import Foundation
import GRDB
import SystemPackage

/// The incident's schema and backfill, at test size.
enum Incident {
    static let set = "last_seen = COALESCE((SELECT MAX(timestamp) FROM observations WHERE transmission_id = transmissions.id), last_seen)"
    static let predicate = "last_seen = 0"

    static func definition(_ name: String = "tx_last_seen_backfill_v1", where predicate: String = Incident.predicate) -> BackfillDefinition {
        BackfillDefinition(name: name, table: "transmissions", set: set, where: predicate, key: "id")
    }

    /// `transmissions` 1…count with last_seen = 0 (every tenth already set), observations for all but the last
    /// `withoutObservations` of them. Deterministic.
    static func make(_ path: FilePath, transmissions count: Int = 3_000, withoutObservations: Int = 500, wal: Bool = false) throws {
        let queue = try DatabaseQueue(path: path.string)
        try queue.writeWithoutTransaction { db in
            if wal { try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try db.execute(sql: """
                CREATE TABLE transmissions (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, last_seen INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE observations (id INTEGER PRIMARY KEY, transmission_id INTEGER NOT NULL, timestamp INTEGER NOT NULL);
                CREATE INDEX observations_transmission ON observations(transmission_id);
                """)
            try db.inTransaction {
                for id in 1...count {
                    try db.execute(
                        sql: "INSERT INTO transmissions (id, hash, last_seen) VALUES (?, ?, ?)",
                        arguments: [id, "h\(id)", id % 10 == 0 ? 7 : 0])
                    guard id <= count - withoutObservations else { continue }
                    for k in 0..<3 {
                        try db.execute(
                            sql: "INSERT INTO observations (transmission_id, timestamp) VALUES (?, ?)",
                            arguments: [id, 1_000 + (id * 7 + k * 13) % 997])
                    }
                }
                return .commit
            }
        }
    }

    /// Every row of `table`, in key order.
    static func rows(_ path: FilePath, _ table: String = "transmissions") throws -> [[DatabaseValue]] {
        let queue = try DatabaseQueue(path: path.string)
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid").map { Array($0.databaseValues) }
        }
    }

    /// A copy of `path` with the one-shot UPDATE applied: the reference result.
    static func oneShot(copyOf path: FilePath, to copy: FilePath, where predicate: String = Incident.predicate) throws {
        try FileManager.default.copyItem(atPath: path.string, toPath: copy.string)
        let queue = try DatabaseQueue(path: copy.string)
        try queue.write { db in try db.execute(sql: "UPDATE transmissions SET \(set) WHERE \(predicate)") }
    }

    static func execute(_ path: FilePath, _ sql: String) throws {
        let queue = try DatabaseQueue(path: path.string)
        try queue.writeWithoutTransaction { try $0.execute(sql: sql) }
    }

    static func int(_ path: FilePath, _ sql: String) throws -> Int? {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path.string, configuration: configuration)
        return try queue.read { try Int.fetchOne($0, sql: sql) }
    }
}

extension ChildProcess {
    /// The durable-backfill executable, built beside the test bundle.
    static var backfill: URL { testHelper.deletingLastPathComponent().appendingPathComponent("durable-backfill") }

    /// Runs durable-backfill to its end; returns the exit status and everything it printed.
    static func backfill(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let child = try ChildProcess(backfill, arguments)
        let status = await child.wait()
        return (status, child.text)
    }
}
