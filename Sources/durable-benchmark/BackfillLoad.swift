import ArgumentParser
import Foundation
import GRDB

/// The two processes the backfill benchmark runs beside each backfill, as the incident's application did: a
/// reader serving pages, and the live ingest writing observations. Each records every call's latency (from the
/// call to its end, including any wait for a lock) and writes `t,latency_ms,result` lines at the end, `t` on the
/// machine's monotonic clock (shared by all processes); result 0 = ok, 1 = SQLITE_BUSY, 2 = another error.
struct BackfillLoad: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "backfill-load", shouldDisplay: false)

    enum Role: String, ExpressibleByArgument { case reader, writer }

    @Option var role: Role
    @Option var db: String
    @Option var out: String
    @Option(help: "Stop when this file exists.") var stop: String
    @Option(help: "Writer transactions per second.") var rate: Double = 200
    @Option var transmissions: Int = 71_000

    func run() throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: db, configuration: configuration)
        var lines: [String] = []
        lines.reserveCapacity(100_000)
        var generator = SystemRandomNumberGenerator()
        var next = now()
        var counter = 0
        while !FileManager.default.fileExists(atPath: stop) {
            let start = now()
            var result = 0
            do {
                switch role {
                case .reader:
                    // A stats count and a recent-rows page, as /api/stats and /api/packets do.
                    try queue.read { db in
                        _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM transmissions")
                        _ = try Row.fetchAll(db, sql: """
                            SELECT o.id, o.transmission_id, o.timestamp, t.hash, t.last_seen FROM observations o
                            JOIN transmissions t ON t.id = o.transmission_id ORDER BY o.id DESC LIMIT 50
                            """)
                    }
                case .writer:
                    counter += 1
                    let id = Int.random(in: 1...transmissions, using: &generator)
                    let timestamp = 2_000_000_000 + counter
                    try queue.inDatabase { db in
                        try db.inTransaction(.immediate) {
                            try db.execute(
                                sql: "INSERT INTO observations (transmission_id, observer, snr, timestamp) VALUES (?, 'live', 1.5, ?)",
                                arguments: [id, timestamp])
                            try db.execute(sql: "UPDATE transmissions SET last_seen = ? WHERE id = ?", arguments: [timestamp, id])
                            return .commit
                        }
                    }
                }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                result = 1
            } catch {
                result = 2
            }
            let end = now()
            lines.append(String(format: "%.6f,%.3f,%d", start, (end - start) * 1000, result))
            switch role {
            case .reader:
                Thread.sleep(forTimeInterval: 0.01)
            case .writer:
                next += 1 / rate
                let pause = next - now()
                if pause > 0 { Thread.sleep(forTimeInterval: pause) } else { next = now() }  // behind: no catch-up burst
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
    }
}
