import IngestConfig
import NIOHTTP1
import StorageKit

/// One request of the SPEC's route table, with its path parameters validated.
enum ControlRoute: Equatable, Sendable {
    case health
    case projects
    case storageStats
    case projectStorageStats(ProjectID)
    case listVideos(ProjectID)
    case uploadVideo(ProjectID)
    case getVideo(ProjectID, assetID: String)
    /// `GET`/`HEAD` of one stored file of an asset: the upload, its thumbnail, a rendition or the sprite sheet.
    case assetFile(ProjectID, assetID: String, AssetFileItem)
    case deleteVideo(ProjectID, assetID: String)
    case purgeProject(ProjectID)
    case rescan
    case repair
    case events
    case rejected(ProjectID)
    case retryRejected(ProjectID, name: String)
    case metrics

    /// Query parameters the route accepts; any other key is a 400.
    var allowedQueryKeys: Set<String> {
        switch self {
        case .listVideos: return ["limit", "after"]
        case .uploadVideo: return ["filename"]
        case .repair: return ["dry_run"]
        case .events: return ["since"]
        default: return []
        }
    }
}

/// A request's route and its strictly parsed query.
struct ControlRequestTarget: Equatable, Sendable {
    var route: ControlRoute
    var query: ControlQuery
}

/// Parsed query parameters: each key at most once, values percent-decoded (`+` is a space).
struct ControlQuery: Equatable, Sendable {
    private(set) var values: [String: String] = [:]

    /// Keys whose values are names a client gives: escapes that decode to bytes that are not UTF-8 are names
    /// like any other, shown as the daemon shows every such name (U+FFFD in place of what is not UTF-8).
    static let nameKeys: Set<String> = ["filename"]

    init() {}

    /// Parses `raw` (the text after `?`), allowing only `allowed` keys.
    init(parsing raw: Substring, allowed: Set<String>, path: String) throws(ControlAPIError) {
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = PercentDecoding.decode(parts[0], plusIsSpace: true), !key.isEmpty else {
                throw .badRequest("bad_query", "malformed query parameter name in \(String(reflecting: String(pair)))")
            }
            guard allowed.contains(key) else {
                let known = allowed.isEmpty ? "it takes none" : "allowed: " + allowed.sorted().joined(separator: ", ")
                throw .badRequest(
                    "bad_query",
                    "unknown query parameter \(String(reflecting: key)) for \(path) (\(known))"
                )
            }
            guard values[key] == nil else {
                throw .badRequest("bad_query", "query parameter \(String(reflecting: key)) given more than once")
            }
            let rawValue = parts.count == 2 ? parts[1] : ""
            let lossy = Self.nameKeys.contains(key)
            guard let value = PercentDecoding.decode(rawValue, plusIsSpace: true, lossy: lossy) else {
                throw .badRequest("bad_query", "malformed percent-encoding in the value of \(String(reflecting: key))")
            }
            values[key] = value
        }
    }

    subscript(key: String) -> String? { values[key] }

    /// `limit`: absent, or an integer from 1 to `max`.
    func limit(max: Int) throws(ControlAPIError) -> Int? {
        guard let raw = values["limit"] else { return nil }
        guard raw.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(raw), (1...max).contains(n) else {
            throw .badRequest("bad_limit", "limit must be an integer from 1 to \(max), got \(String(reflecting: raw))")
        }
        return n
    }

    /// `since`: absent, or an event id ≥ 0.
    func since() throws(ControlAPIError) -> Int64? {
        guard let raw = values["since"] else { return nil }
        guard raw.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int64(raw) else {
            throw .badRequest("bad_since", "since must be an event id (an integer ≥ 0), got \(String(reflecting: raw))")
        }
        return n
    }

    /// `dry_run`: absent (false), bare (true), or `1/0/true/false/yes/no`.
    func dryRun() throws(ControlAPIError) -> Bool {
        guard let raw = values["dry_run"] else { return false }
        switch raw.lowercased() {
        case "", "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: throw .badRequest("bad_dry_run", "dry_run must be 1 or 0 (true/false), got \(String(reflecting: raw))")
        }
    }
}

/// Percent-decoding of URI components (RFC 3986), rejecting malformed escapes and (unless `lossy`) non-UTF-8
/// results.
enum PercentDecoding {
    /// Decodes `text`; `nil` when an escape is malformed, or when the bytes are not UTF-8 and `lossy` is false
    /// (with `lossy`, each byte that is not UTF-8 becomes U+FFFD).
    static func decode(_ text: Substring, plusIsSpace: Bool, lossy: Bool = false) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var it = text.utf8.makeIterator()
        while let b = it.next() {
            switch b {
            case UInt8(ascii: "%"):
                guard let h = it.next().flatMap(hexValue), let l = it.next().flatMap(hexValue) else { return nil }
                bytes.append(h << 4 | l)
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(b)
            }
        }
        return lossy ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Maps a method and request target to a ``ControlRoute``: 404 for an unknown path, 405 with `Allow` for a known
/// path with another method, 400 for invalid path parameters or query strings.
enum ControlRouter {
    /// Most entries a `limit` may ask for.
    static let maxPageSize = 10_000

    /// Resolves `uri` (origin form, `/path?query`, or absolute form, `http://host/path?query`, as proxies send
    /// it) for `method`. `HEAD` is served wherever `GET` is.
    static func resolve(method: HTTPMethod, uri rawURI: String) throws(ControlAPIError) -> ControlRequestTarget {
        let uri = originForm(of: rawURI)
        guard uri.hasPrefix("/") else {
            throw .badRequest("bad_target", "the request target must be a path starting with /")
        }
        let pathPart: Substring
        let queryPart: Substring
        if let q = uri.firstIndex(of: "?") {
            pathPart = uri[..<q]
            queryPart = uri[uri.index(after: q)...]
        } else {
            pathPart = Substring(uri)
            queryPart = ""
        }
        if let hash = pathPart.firstIndex(of: "#") {
            _ = hash
            throw .badRequest("bad_target", "fragments are not allowed")
        }
        var segments: [String] = []
        for raw in pathPart.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let s = PercentDecoding.decode(raw, plusIsSpace: false) else {
                throw .badRequest(
                    "bad_path",
                    "malformed percent-encoding in path segment \(String(reflecting: String(raw)))"
                )
            }
            segments.append(s)
        }
        let path = String(pathPart)
        let (route, allow) = try match(segments, method: method, path: path)
        guard let route else {
            throw ControlAPIError(
                status: .methodNotAllowed,
                error: "method_not_allowed",
                detail: "\(method.rawValue) is not allowed on \(path); allowed: \(allow.joined(separator: ", "))",
                headers: [("Allow", allow.joined(separator: ", "))]
            )
        }
        let query = try ControlQuery(parsing: queryPart, allowed: route.allowedQueryKeys, path: path)
        return ControlRequestTarget(route: route, query: query)
    }

    /// The path and query of an absolute-form target (`http://host[:port]/path?query`; `/` when it names no
    /// path); any other target as it is.
    static func originForm(of uri: String) -> String {
        let lower = uri.prefix(8).lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return uri }
        let afterScheme = uri[uri.index(uri.startIndex, offsetBy: lower.hasPrefix("http://") ? 7 : 8)...]
        guard let end = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        let rest = afterScheme[end...]
        return rest.hasPrefix("/") ? String(rest) : "/" + rest
    }

    /// The SPEC's route table: one line per method and path. `{project}`, `{asset}`, `{name}` and `{rendition}`
    /// match any one segment and are validated when the route is made (a 400 names what is wrong); `{file}`
    /// matches only the names of an asset's files (`content`, `thumbnail`, `sprite.jpg`, `sprite.vtt`).
    static let routes: [RouteEntry] = [
        RouteEntry(.GET, "/health") { _ in .health },
        RouteEntry(.GET, "/projects") { _ in .projects },
        RouteEntry(.GET, "/storage/stats") { _ in .storageStats },
        RouteEntry(.GET, "/projects/{project}/storage/stats") { .projectStorageStats(try $0.project()) },
        RouteEntry(.DELETE, "/projects/{project}/storage") { .purgeProject(try $0.project()) },
        RouteEntry(.GET, "/projects/{project}/videos") { .listVideos(try $0.project()) },
        RouteEntry(.POST, "/projects/{project}/videos") { .uploadVideo(try $0.project()) },
        RouteEntry(.GET, "/projects/{project}/videos/{asset}") { .getVideo(try $0.project(), assetID: try $0.asset()) },
        RouteEntry(.DELETE, "/projects/{project}/videos/{asset}") {
            .deleteVideo(try $0.project(), assetID: try $0.asset())
        },
        RouteEntry(.GET, "/projects/{project}/videos/{asset}/{file}") { try $0.assetFile() },
        RouteEntry(.GET, "/projects/{project}/videos/{asset}/renditions/{rendition}") { try $0.assetFile() },
        RouteEntry(.GET, "/projects/{project}/rejected") { .rejected(try $0.project()) },
        RouteEntry(.POST, "/projects/{project}/rejected/{name}/retry") {
            .retryRejected(try $0.project(), name: try $0.rejectedName())
        },
        RouteEntry(.POST, "/rescan") { _ in .rescan },
        RouteEntry(.POST, "/repair") { _ in .repair },
        RouteEntry(.GET, "/events") { _ in .events },
        RouteEntry(.GET, "/metrics") { _ in .metrics },
    ]

    /// Matches path `segments` against the table; returns the route for `method`, or `nil` and the methods the
    /// path allows (in table order); throws 404 when no entry's path matches.
    private static func match(
        _ segments: [String],
        method: HTTPMethod,
        path: String
    ) throws(ControlAPIError) -> (ControlRoute?, [String]) {
        var allowed: [String] = []
        for entry in routes {
            guard let parameters = entry.match(segments) else { continue }
            if entry.method == method || (method == .HEAD && entry.method == .GET) {
                do {
                    return (try entry.make(parameters), [])
                } catch let error as ControlAPIError {
                    throw error
                } catch {
                    throw .badRequest("bad_path", "\(error)")
                }
            }
            let methods = entry.method == .GET ? ["GET", "HEAD"] : [entry.method.rawValue]
            for name in methods where !allowed.contains(name) { allowed.append(name) }
        }
        guard allowed.isEmpty else { return (nil, allowed) }
        throw ControlAPIError(status: .notFound, error: "not_found", detail: "no such endpoint: \(path)")
    }

    /// A project id exactly as given (`[A-Za-z0-9_-]`, 1…64), never silently rewritten.
    static func project(_ raw: String) throws(ControlAPIError) -> ProjectID {
        guard let id = ProjectID(exactly: raw) else {
            throw .badRequest(
                "invalid_project_id",
                "project id \(String(reflecting: raw)) is not valid: use 1 to 64 characters from A-Z a-z 0-9 _ -"
            )
        }
        return id
    }

    /// An asset id: 1…128 characters without `/`, NUL or control characters. A UUID (the ids ingestd makes) is
    /// matched whatever the case of its hex digits.
    static func assetID(_ raw: String) throws(ControlAPIError) -> String {
        guard !raw.isEmpty, raw.utf8.count <= 128,
            !raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "/" || $0.value == 0x7F })
        else {
            throw .badRequest("invalid_asset_id", "asset id \(String(reflecting: raw)) is not valid")
        }
        return isUUID(raw) ? raw.lowercased() : raw
    }

    /// Whether `text` is a UUID in its 8-4-4-4-12 hex form, in either case.
    private static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        return bytes.enumerated().allSatisfy { index, byte in
            [8, 13, 18, 23].contains(index)
                ? byte == UInt8(ascii: "-")
                : (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x66)
        }
    }

    /// A rendition's name as the record lists it (`720p`), optionally with its file extension (`720p.mp4`):
    /// 1…64 characters from `A-Z a-z 0-9 . _ -`, not starting with a dot.
    static func renditionName(_ raw: String) throws(ControlAPIError) -> String {
        guard !raw.isEmpty, raw.utf8.count <= 64, raw.first != ".",
            raw.unicodeScalars.allSatisfy({ ProjectIDRule.isAllowed($0) || $0 == "." })
        else {
            throw .badRequest(
                "invalid_rendition",
                "rendition name \(String(reflecting: raw)) is not valid (e.g. 720p)"
            )
        }
        return raw
    }

    /// A rejected file's name: one path component (no `/`, not `.` or `..`, no NUL), at most 255 bytes.
    static func rejectedName(_ raw: String) throws(ControlAPIError) -> String {
        guard !raw.isEmpty, raw != ".", raw != "..", raw.utf8.count <= 255, !raw.utf8.contains(0),
            !raw.contains("/")
        else {
            throw .badRequest("invalid_name", "rejected file name \(String(reflecting: raw)) is not a single file name")
        }
        return raw
    }
}

/// One line of the route table: a method, a path pattern and how the route is made from its parameters.
struct RouteEntry: Sendable {
    /// A pattern's segment: a literal, or a named parameter.
    enum Part: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    let method: HTTPMethod
    let parts: [Part]
    /// Throws only `ControlAPIError` (the parameters' validation); untyped so that each line stays one line.
    let make: @Sendable (RouteParameters) throws -> ControlRoute

    init(
        _ method: HTTPMethod,
        _ pattern: String,
        make: @escaping @Sendable (RouteParameters) throws -> ControlRoute
    ) {
        self.method = method
        self.parts = pattern.split(separator: "/").map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}")
                ? .parameter(String(segment.dropFirst().dropLast())) : .literal(String(segment))
        }
        self.make = make
    }

    /// The parameters of `segments` when they match this entry's pattern.
    func match(_ segments: [String]) -> RouteParameters? {
        guard segments.count == parts.count else { return nil }
        var values: [String: String] = [:]
        for (part, segment) in zip(parts, segments) {
            switch part {
            case .literal(let text):
                guard segment == text else { return nil }
            case .parameter(let name):
                // A file of an asset is part of the path's shape: an unknown one is no such endpoint.
                if name == "file", AssetFileItem(fileSegment: segment) == nil { return nil }
                values[name] = segment
            }
        }
        return RouteParameters(values: values)
    }
}

/// The raw path parameters of a matched route, validated as they are read.
struct RouteParameters: Sendable {
    let values: [String: String]

    func project() throws(ControlAPIError) -> ProjectID { try ControlRouter.project(values["project"] ?? "") }
    func asset() throws(ControlAPIError) -> String { try ControlRouter.assetID(values["asset"] ?? "") }
    func rejectedName() throws(ControlAPIError) -> String { try ControlRouter.rejectedName(values["name"] ?? "") }

    /// `GET`/`HEAD` of an asset's file: `{file}`, or `renditions/{rendition}`.
    func assetFile() throws(ControlAPIError) -> ControlRoute {
        let item: AssetFileItem
        if let rendition = values["rendition"] {
            item = .rendition(try ControlRouter.renditionName(rendition))
        } else if let file = values["file"].flatMap(AssetFileItem.init(fileSegment:)) {
            item = file
        } else {
            throw ControlAPIError(status: .notFound, error: "not_found", detail: "no such file of an asset")
        }
        return .assetFile(try project(), assetID: try asset(), item)
    }
}
