#if canImport(Glibc)
import Glibc
#endif

/// `CATALOG_URL`, parsed: `sqlite:` (a file under `STORAGE_PATH/metadata/`) or a PostgreSQL server as libpq
/// writes it — `postgres://user:pass@host:port/db` over TCP, or `postgres:///db?host=/run/postgresql` on the
/// Unix socket in that folder. Query options: `host`, `port`, `user`, `password`, `sslmode`.
///
/// The password never leaves this value: ``redacted`` (and ``redact(_:)`` for text that does not even parse)
/// is what messages and logs name.
public enum CatalogURL: Sendable, Equatable {
    case sqlite
    case postgres(PostgresTarget)

    /// Where a PostgreSQL catalog lives and how to log in.
    public struct PostgresTarget: Sendable, Equatable {
        public var user: String
        public var password: String?
        /// A host name or address (TCP); `nil` with `socketDirectory`.
        public var host: String?
        /// The folder of the server's Unix socket (`.s.PGSQL.<port>` inside it).
        public var socketDirectory: String?
        public var port: Int
        public var database: String
        public var sslMode: SSLMode

        /// The socket file for `socketDirectory`.
        public var socketPath: String? { socketDirectory.map { $0 + "/.s.PGSQL.\(port)" } }
    }

    /// libpq's `sslmode` values that postgres-nio can honour.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Never TLS (the default on a Unix socket).
        case disable
        /// TLS when the server offers it, without checking its certificate (the default over TCP).
        case prefer
        /// TLS or nothing, without checking the certificate.
        case require
        /// TLS with a certificate signed by a trusted authority.
        case verifyCA = "verify-ca"
        /// TLS with a trusted certificate naming the host.
        case verifyFull = "verify-full"
    }

    /// Parses `text`; the error's words never contain the password.
    public static func parse(_ text: String) throws(CatalogURLError) -> CatalogURL {
        if text == "sqlite:" { return .sqlite }
        let schemes = ["postgres://", "postgresql://"]
        guard let scheme = schemes.first(where: { text.hasPrefix($0) }) else {
            throw CatalogURLError(redact(text), "expected sqlite: or postgres://user:pass@host:port/db")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query: [(String, String)] = []
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append((percentDecoded(parts[0]), parts.count > 1 ? percentDecoded(parts[1]) : ""))
            }
            rest = rest[..<q]
        }
        let authority = rest.firstIndex(of: "/").map { rest[..<$0] } ?? rest
        let path = rest.firstIndex(of: "/").map { rest[rest.index(after: $0)...] } ?? ""
        var user: String?
        var password: String?
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let info = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                user = percentDecoded(info[..<colon])
                password = percentDecoded(info[info.index(after: colon)...])
            } else {
                user = percentDecoded(info)
            }
        }
        var host: String?
        var port = 5432
        if !hostPort.isEmpty {
            if hostPort.hasPrefix("[") {
                guard let close = hostPort.firstIndex(of: "]") else {
                    throw CatalogURLError(
                        redact(text),
                        "an IPv6 address needs its closing bracket: postgres://user:pass@[::1]:5432/db"
                    )
                }
                host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
                let after = hostPort[hostPort.index(after: close)...]
                if after.hasPrefix(":") {
                    port = try parsePort(after.dropFirst(), text)
                } else if !after.isEmpty {
                    throw CatalogURLError(redact(text), "expected :port after the bracketed address")
                }
            } else if let colon = hostPort.lastIndex(of: ":") {
                host = percentDecoded(hostPort[..<colon])
                port = try parsePort(hostPort[hostPort.index(after: colon)...], text)
            } else {
                host = percentDecoded(hostPort)
            }
        }
        var sslMode: SSLMode?
        for (key, value) in query {
            switch key {
            case "host": host = value
            case "port": port = try parsePort(Substring(value), text)
            case "user": user = value
            case "password": password = value
            case "dbname": if path.isEmpty { return try parse(replacingPath: value, in: text) }
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw CatalogURLError(
                        redact(text),
                        "sslmode=\(value) is not one of " + SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    )
                }
                sslMode = mode
            case "application_name", "connect_timeout": break
            default:
                throw CatalogURLError(redact(text), "unknown option \(key); known: host, port, user, password, sslmode")
            }
        }
        var socketDirectory: String?
        if let h = host, h.hasPrefix("/") {
            socketDirectory = h
            host = nil
        }
        if host == nil, socketDirectory == nil {
            // libpq's default: the local server's socket folder.
            socketDirectory = "/run/postgresql"
        }
        let database = percentDecoded(path)
        guard !database.isEmpty, !database.contains("/") else {
            throw CatalogURLError(redact(text), "name the database after the host: postgres://user:pass@host:port/db")
        }
        let resolvedUser = user.flatMap { $0.isEmpty ? nil : $0 } ?? currentUserName()
        if socketDirectory != nil, sslMode != nil, sslMode != .disable {
            throw CatalogURLError(
                redact(text),
                "TLS does not apply to a Unix socket: leave out sslmode or set sslmode=disable"
            )
        }
        return .postgres(
            PostgresTarget(
                user: resolvedUser,
                password: password,
                host: host,
                socketDirectory: socketDirectory,
                port: port,
                database: database,
                sslMode: sslMode ?? (socketDirectory != nil ? .disable : .prefer)
            )
        )
    }

    private static func parse(replacingPath database: String, in text: String) throws(CatalogURLError) -> CatalogURL {
        // `postgres://host?dbname=x`: put the name where the path goes and parse again.
        guard let q = text.firstIndex(of: "?") else { return try parse(text) }
        let head = text[..<q].hasSuffix("/") ? String(text[..<q]) : text[..<q] + "/"
        let options = text[text.index(after: q)...].split(separator: "&").filter { !$0.hasPrefix("dbname=") }
        return try parse(head + database + (options.isEmpty ? "" : "?" + options.joined(separator: "&")))
    }

    private static func parsePort(_ text: Substring, _ url: String) throws(CatalogURLError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw CatalogURLError(redact(url), "port \(text) is not a number from 1 to 65535")
        }
        return port
    }

    /// `text` with any password taken out (the `user:password@` part and a `password=` option), for messages
    /// about a URL that may not even parse.
    public static func redact(_ text: String) -> String {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { return text }
        let afterScheme = text.index(colon, offsetBy: 3)
        var out = String(text[..<afterScheme])
        var rest = text[afterScheme...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            let info = authority[..<at]
            out += (info.firstIndex(of: ":").map { info[..<$0] } ?? info) + "@"
            out += authority[authority.index(after: at)...]
        } else {
            out += authority
        }
        rest = rest[authorityEnd...]
        if let q = rest.firstIndex(of: "?") {
            out += rest[..<q]
            let options = rest[rest.index(after: q)...].split(separator: "&").filter { !$0.hasPrefix("password=") }
            if !options.isEmpty { out += "?" + options.joined(separator: "&") }
        } else {
            out += rest
        }
        return out
    }

    /// The URL as messages name it: without its password.
    public var redacted: String {
        switch self {
        case .sqlite: return "sqlite:"
        case .postgres(let t):
            let place = t.socketDirectory.map {
                "/\(t.database)?host=\($0)" + (t.port == 5432 ? "" : "&port=\(t.port)")
            }
            let hostPart = t.host.map { $0.contains(":") ? "[\($0)]" : $0 } ?? ""
            let tcp = "\(hostPart):\(t.port)/\(t.database)"
            return "postgres://\(t.user)@" + (place ?? tcp)
        }
    }

    private static func percentDecoded<S: StringProtocol>(_ text: S) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func currentUserName() -> String {
        if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return "postgres"
    }
}

/// A `CATALOG_URL` that does not parse; `url` is already without its password.
public struct CatalogURLError: Error, CustomStringConvertible, Sendable {
    public let url: String
    public let reason: String

    init(_ url: String, _ reason: String) {
        self.url = url
        self.reason = reason
    }

    public var description: String { "CATALOG_URL=\(url): \(reason)" }
}
