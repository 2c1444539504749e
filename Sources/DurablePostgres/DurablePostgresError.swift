import DurableIO
import NIOCore
import NIOPosix
import PostgresNIO
import _ConnectionPoolModule

/// The one error type of the `DurablePostgres` module: the server or the connection failed. What the run store's
/// semantics refuse (a completed run, a checksum mismatch, …) is a `DurableRunStoreError`, the same for both stores.
///
/// Messages name the store by its redacted URL (`postgres://user:***@host:5432/db`): a password never appears in
/// an error. The server's own message and SQLSTATE are kept; the query text and its values are not (row contents
/// stay out of error text).
///
/// ```swift
/// do { _ = try await PostgresRunStore.connect(to: location) }
/// catch let error as DurablePostgresError where error.code == .unreachable { print(error.detailedDescription) }
/// ```
public struct DurablePostgresError: OperationError, Sendable, Equatable {
    /// A stable identifier of the kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The `--store` URL cannot be used.
        public static let invalidLocation = Code("invalidLocation")
        /// The server cannot be reached, or the connection broke.
        public static let unreachable = Code("unreachable")
        /// The server refused the login (user, password, database).
        public static let authentication = Code("authentication")
        /// The server reported an error for a statement.
        public static let server = Code("server")
        /// The database's schema is newer than this program.
        public static let schema = Code("schema")
    }

    /// What kind of failure this is.
    public var code: Code
    /// The step that failed (`open store`, `claim`, `commit`, …).
    public var operation: String
    /// One line: what happened.
    public var message: String
    /// What to do next.
    public var hint: String?
    /// The server's SQLSTATE, when it sent one.
    public var sqlState: String?

    /// An error.
    public init(_ code: Code, operation: String, message: String, hint: String? = nil, sqlState: String? = nil) {
        self.code = code
        self.operation = operation
        self.message = message
        self.hint = hint
        self.sqlState = sqlState
    }

    /// A schema newer than this program is `FailureClass.consistency` (fail closed).
    public var failureClass: FailureClass { code == .schema ? .consistency : .failure }

    /// Translates PostgresNIO's error (whose own description is deliberately generic) into one that says what
    /// happened, naming the store by its redacted URL.
    static func wrap(_ error: any Error, operation: String, store: String) -> any Error {
        if error is DurablePostgresError || error is CancellationError { return error }
        if let transaction = error as? PostgresTransactionError {
            let inner = transaction.beginError ?? transaction.closureError ?? transaction.commitError
            return inner.map { wrap($0, operation: operation, store: store) } ?? error
        }
        if let pool = error as? ConnectionPoolError, pool == .connectionCreationCircuitBreakerTripped {
            return DurablePostgresError(
                .unreachable, operation: operation, message: "\(store): no connection could be made for over a minute",
                hint: "Check that the server runs and accepts connections from this host; a worker retries for 2 minutes, then stops (the run stays resumable).")
        }
        guard let psql = error as? PSQLError else { return error }
        if let info = psql.serverInfo {
            let state = info[.sqlState]
            let text = PostgresLocation.redact(info[.message] ?? "error")
            if state == "28P01" || state == "28000" || state == "3D000" {
                return DurablePostgresError(
                    .authentication, operation: operation, message: "\(store) refused the login: \(text)",
                    hint: "Check the user, the password (in the URL or PGPASSWORD) and the database name.", sqlState: state)
            }
            return DurablePostgresError(
                .server, operation: operation, message: "\(store): \(text) (SQLSTATE \(state ?? "?"))",
                hint: info[.hint].map(PostgresLocation.redact), sqlState: state)
        }
        let reason: String
        switch psql.code {
        case .connectionError: reason = "cannot connect: \(connectionFailure(psql.underlying))"
        case .serverClosedConnection, .uncleanShutdown: reason = "the server closed the connection"
        case .clientClosedConnection, .poolClosed: reason = "the connection was closed"
        case .sslUnsupported: reason = "the server does not support TLS (sslmode=require)"
        default: reason = "\(psql.code)"
        }
        return DurablePostgresError(
            .unreachable, operation: operation, message: "\(store): \(reason)",
            hint: "Check that the server runs and accepts connections from this host; a worker retries for 2 minutes, then stops (the run stays resumable).")
    }

    /// A failed connection attempt in words: refused, no answer, no route, a host name that does not resolve.
    static func connectionFailure(_ underlying: (any Error)?) -> String {
        var error = underlying
        if let attempts = error as? NIOConnectionError {
            if let dns = attempts.dnsAError ?? attempts.dnsAAAAError {
                return "the host name '\(attempts.host)' does not resolve (\(dns))"
            }
            error = attempts.connectionErrors.first?.error ?? error
        }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "the server refused the connection (nothing listens on that port)"
            case ETIMEDOUT: return "no answer from the server (timed out)"
            case EHOSTUNREACH, ENETUNREACH: return "no route to the host"
            default: return "\(String(cString: strerror(io.errnoCode))) (errno \(io.errnoCode))"
            }
        }
        if case .connectTimeout(let limit)? = error as? ChannelError {
            return "no answer from the server within \(limit.nanoseconds / 1_000_000_000) s"
        }
        return error.map { PostgresLocation.redact("\($0)") } ?? "the connection failed"
    }
}
