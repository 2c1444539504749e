import DurableIO
import Foundation

/// Where a PostgreSQL run store is: a `postgres://user[:password]@host[:port]/database[?sslmode=…]` URL, parsed,
/// with a ``redacted`` form for every message — the password never appears in logs, errors or status.
///
/// The password may also come from `PGPASSWORD` in the environment (then the URL carries none). `sslmode`
/// is `disable`, `prefer` (the default, as libpq) or `require`; `schema` names the PostgreSQL schema that holds
/// the store's tables (default `durable`), so several stores can share one database; `timeout` is how many seconds
/// one call may wait for the server without progress before it fails (default 15: raise it for a busy server,
/// e.g. an ingest of millions of items while a checkpoint writes to a slow disk).
///
/// ```swift
/// let location = try PostgresLocation("postgres://worker:s3cret@db.internal/runs")
/// print(location.redacted)   // postgres://worker:***@db.internal:5432/runs
/// let patient = try PostgresLocation("postgres://loader@db.internal/runs?timeout=120")
/// print(patient.timeout)     // 120.0 seconds
/// ```
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// TLS as libpq's `sslmode` names it.
    public enum TLSMode: String, Sendable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it (the default).
        case prefer
        /// TLS or fail.
        case require
    }

    /// The user name.
    public var user: String
    /// The password (never printed).
    public var password: String?
    /// The host name or address.
    public var host: String
    /// The port (default 5432).
    public var port: Int
    /// The database.
    public var database: String
    /// TLS.
    public var tls: TLSMode
    /// The PostgreSQL schema of the store's tables (default `durable`).
    public var schema: String
    /// How long one call may wait for the server without progress before it fails as unreachable (default
    /// ``defaultTimeout``; `?timeout=SECONDS` in the URL).
    public var timeout: Duration = Self.defaultTimeout
    /// 15 seconds: a worker cut off from the database notices within one lease.
    public static let defaultTimeout: Duration = .seconds(15)

    /// Parses a `postgres://` or `postgresql://` URL.
    ///
    /// - Throws: ``DurablePostgresError`` (`invalidLocation`) naming what is wrong, with the URL redacted.
    public init(_ url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let shown = Self.redact(url)
        func bad(_ why: String) -> DurablePostgresError {
            DurablePostgresError(
                .invalidLocation, operation: "open store", message: "\(shown) is not a usable PostgreSQL URL: \(why)",
                hint: "Write it as postgres://user[:password]@host[:port]/database (the password may come from PGPASSWORD).")
        }
        guard Self.isURL(url) else { throw bad("it does not start with postgres:// or postgresql://") }
        if let problem = Self.portProblem(in: url) { throw bad(problem) }
        guard !url.contains(where: \.isWhitespace), let components = URLComponents(string: url) else {
            throw bad("it is not a well-formed URL (percent-encode @ : / ? # and spaces in the user name or password, e.g. %40 for @)")
        }
        guard let host = components.host, !host.isEmpty else { throw bad("no host") }
        guard let user = components.user, !user.isEmpty else { throw bad("no user name") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw bad("no database name") }
        var tls = TLSMode.prefer
        var schema = "durable"
        var timeout = Self.defaultTimeout
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: item.value ?? "") else {
                    throw bad("sslmode must be disable, prefer or require")
                }
                tls = mode
            case "schema":
                guard let name = item.value, Self.isSchemaName(name) else {
                    throw bad("schema must be lower-case letters, digits and _, starting with a letter or _")
                }
                schema = name
            case "timeout":
                // In whole milliseconds, at least one: 0.0001 would round to a limit every call exceeds at once.
                guard let seconds = item.value.flatMap(Double.init), seconds.isFinite, seconds >= 0.001, seconds <= 86_400 else {
                    throw bad("timeout must be a number of seconds, at least 0.001 and at most 86400 (a day)")
                }
                timeout = .milliseconds(Int64((seconds * 1000).rounded()))
            default:
                throw bad("unknown parameter '\(item.name)' (known: sslmode, schema, timeout)")
            }
        }
        self.schema = schema
        self.timeout = timeout
        self.user = user
        self.password = components.password ?? environment["PGPASSWORD"]
        self.host = host
        self.port = components.port ?? 5432
        self.database = database.removingPercentEncoding ?? database
        self.tls = tls
    }

    /// What is wrong with the port of `url` (a `postgres://` URL), if one is given: it must be a number from 1 to
    /// 65535 (`host:` with nothing after the colon is refused too, not read as 5432).
    private static func portProblem(in url: String) -> String? {
        let rest = url[url.range(of: "://")!.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority
        let afterHost = hostPort.hasPrefix("[") ? hostPort.drop { $0 != "]" }.dropFirst() : hostPort
        guard let colon = afterHost.lastIndex(of: ":") else { return nil }
        let port = afterHost[afterHost.index(after: colon)...]
        guard port.allSatisfy(\.isASCII), let number = Int(port), (1...65535).contains(number) else {
            return Int(port) != nil ? "the port \(port) is not a number from 1 to 65535" : "the port '\(port)' is not a number from 1 to 65535"
        }
        return nil
    }

    /// `postgres://user:***@host:port/database[?schema=…&timeout=…]` (`***` only where a password was given; each
    /// parameter only where it is not the default).
    public var redacted: String {
        var parameters: [String] = []
        if schema != "durable" { parameters.append("schema=\(schema)") }
        if timeout != Self.defaultTimeout { parameters.append("timeout=\(Self.seconds(timeout))") }
        let query = parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&")
        return "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)\(query)"
    }

    /// `15`, `2.5`: a duration as the seconds a URL's `timeout` takes.
    static func seconds(_ duration: Duration) -> String {
        let seconds = duration.seconds
        return seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    /// Whether `name` can name a schema here: `[a-z_][a-z0-9_]*`, at most 63 bytes.
    public static func isSchemaName(_ name: String) -> Bool {
        name.range(of: #"^[a-z_][a-z0-9_]{0,62}$"#, options: .regularExpression) != nil
    }

    public var description: String { redacted }

    /// Whether `text` looks like a PostgreSQL URL (else it is a SQLite file).
    public static func isURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// `text` with the password of any `scheme://user:password@` in it replaced by `***`: for messages that quote
    /// what a user typed.
    public static func redact(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            out += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" || $0 == " " }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out += authority[..<colon] + ":***" + authority[at...]
            } else {
                out += authority
            }
            rest = rest[authorityEnd...]
        }
        return out + rest
    }
}
