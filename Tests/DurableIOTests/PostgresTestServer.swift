import DurablePostgres
import Foundation
import PostgresNIO
import Synchronization

@testable import DurablePostgres

/// The PostgreSQL server the tests use: `DURABLE_TEST_POSTGRES_URL` (`.ci/run` starts one on loopback and exports
/// it). Without it, or when nothing answers there, the PostgreSQL tests are skipped with the reason printed —
/// never passed silently.
enum PostgresTestServer {
    static let url: String? = ProcessInfo.processInfo.environment["DURABLE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// Why the tests cannot run, or `nil` when a server answers.
    static let unavailableReason: String? = {
        guard let url else {
            return "DURABLE_TEST_POSTGRES_URL is not set (.ci/run starts a server and sets it)"
        }
        guard let location = try? PostgresLocation(url) else { return "DURABLE_TEST_POSTGRES_URL is not a postgres:// URL" }
        guard reachable(host: location.host, port: location.port) else {
            return "nothing answers at \(location.redacted)"
        }
        return nil
    }()

    private static let announced = Mutex(false)

    /// Whether the server answers; prints the reason for skipping once when it does not.
    static var isAvailable: Bool {
        if let reason = unavailableReason {
            let first = announced.withLock { done in defer { done = true }; return !done }
            if first {
                FileHandle.standardError.write(Data("⚠️  PostgreSQL tests SKIPPED: \(reason)\n".utf8))
            }
            return false
        }
        return true
    }

    static var location: PostgresLocation { try! PostgresLocation(url!) }

    /// A fresh schema name for one test.
    static func freshSchema() -> String { "t_" + String(UInt64.random(in: 0...UInt64.max), radix: 36) }

    /// The test URL with `schema` set (and the password kept).
    static func url(schema: String) -> String {
        var components = URLComponents(string: url!)!
        var items = (components.queryItems ?? []).filter { $0.name != "schema" }
        items.append(URLQueryItem(name: "schema", value: schema))
        components.queryItems = items
        return components.string!
    }

    /// A store in a fresh schema; drop it with ``drop(_:)``.
    ///
    /// The default timeout is long: the suite's synchronous tests can hold both threads of the cooperative pool (2
    /// here) for minutes at its start, and a store call cannot complete while they do — a test of a timeout passes
    /// its own.
    static func makeStore(operationTimeout: Duration = .seconds(300)) async throws -> PostgresRunStore {
        try await PostgresRunStore.connect(to: location, schema: freshSchema(), operationTimeout: operationTimeout)
    }

    /// Drops the store's schema and closes it.
    static func drop(_ store: PostgresRunStore) async {
        _ = try? await store.rows("drop", PostgresQuery(unsafeSQL: "DROP SCHEMA \(store.schema) CASCADE"))
        await store.close()
    }

    /// One integer from a query.
    static func int(_ store: PostgresRunStore, _ query: PostgresQuery) async throws -> Int {
        try await store.rows("test", query).first!.decode(Int.self)
    }

    private static func reachable(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return false }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0
    }
}
