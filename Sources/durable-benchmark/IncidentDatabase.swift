import Foundation
import GRDB

/// The incident's database at scale: `transmissions` (all `last_seen = 0`, as after the column was added) and
/// `observations` with an index on `transmission_id`. One transmission in twenty has no observations: the rows the
/// seed's chunked loop never got past.
enum IncidentDatabase {
    /// The incident's two tables (no index: the benchmarks add what they measure).
    static let tables = """
        CREATE TABLE transmissions (
            id INTEGER PRIMARY KEY, hash TEXT NOT NULL, first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL);
        CREATE TABLE observations (
            id INTEGER PRIMARY KEY, transmission_id INTEGER NOT NULL, observer TEXT NOT NULL, snr REAL,
            timestamp INTEGER NOT NULL);
        """

    static func build(_ path: String, transmissions: Int, observations: Int) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: tables)
            var generator = SplitMix(seed: 42)
            try db.inTransaction {
                let insert = try db.makeStatement(sql: "INSERT INTO transmissions (id, hash, first_seen, last_seen, payload) VALUES (?, ?, ?, 0, ?)")
                let payload = String(repeating: "x", count: 120)
                for id in 1...transmissions {
                    try insert.execute(arguments: [id, String(generator.next(), radix: 16), 1_600_000_000 + id, payload])
                }
                let observe = try db.makeStatement(sql: "INSERT INTO observations (transmission_id, observer, snr, timestamp) VALUES (?, ?, ?, ?)")
                for i in 0..<observations {
                    var id = Int(generator.next() % UInt64(transmissions)) + 1
                    if id % 20 == 0 { id -= 1 }  // every twentieth transmission has no observations
                    try observe.execute(arguments: [id, "observer-\(i % 37)", Double(i % 40) / 4, 1_600_000_000 + i])
                }
                return .commit
            }
            try db.execute(sql: "CREATE INDEX idx_observations_transmission ON observations(transmission_id)")
        }
        try queue.close()
    }
}

/// A small deterministic generator, so every run builds the same database.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
