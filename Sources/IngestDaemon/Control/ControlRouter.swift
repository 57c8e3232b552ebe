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
            guard let value = PercentDecoding.decode(rawValue, plusIsSpace: true) else {
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

/// Percent-decoding of URI components (RFC 3986), rejecting malformed escapes and non-UTF-8 results.
enum PercentDecoding {
    /// Decodes `text`; `nil` when an escape is malformed or the bytes are not UTF-8.
    static func decode(_ text: Substring, plusIsSpace: Bool) -> String? {
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
        return String(validating: bytes, as: UTF8.self)
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

    /// Resolves `uri` (origin form, `/path?query`) for `method`.
    static func resolve(method: HTTPMethod, uri: String) throws(ControlAPIError) -> ControlRequestTarget {
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

    /// Matches path `segments`; returns the route for `method`, or `nil` and the methods the path allows.
    private static func match(
        _ s: [String],
        method: HTTPMethod,
        path: String
    ) throws(ControlAPIError) -> (ControlRoute?, [String]) {
        func pick(
            _ options: [(HTTPMethod, () throws(ControlAPIError) -> ControlRoute)]
        ) throws(ControlAPIError) -> (ControlRoute?, [String]) {
            for (m, make) in options where m == method { return (try make(), []) }
            return (nil, options.map { $0.0.rawValue })
        }
        /// `GET` and `HEAD` of an asset's stored file.
        func pickFile(_ s: [String], _ item: AssetFileItem) throws(ControlAPIError) -> (ControlRoute?, [String]) {
            let make = { () throws(ControlAPIError) -> ControlRoute in
                .assetFile(try project(s[1]), assetID: try assetID(s[3]), item)
            }
            return try pick([(.GET, make), (.HEAD, make)])
        }
        switch s.count {
        case 1:
            switch s[0] {
            case "health": return try pick([(.GET, { .health })])
            case "projects": return try pick([(.GET, { .projects })])
            case "rescan": return try pick([(.POST, { .rescan })])
            case "repair": return try pick([(.POST, { .repair })])
            case "events": return try pick([(.GET, { .events })])
            case "metrics": return try pick([(.GET, { .metrics })])
            default: break
            }
        case 2 where s[0] == "storage" && s[1] == "stats":
            return try pick([(.GET, { .storageStats })])
        case 3 where s[0] == "projects":
            switch s[2] {
            case "videos":
                return try pick([
                    (.GET, { () throws(ControlAPIError) in .listVideos(try project(s[1])) }),
                    (.POST, { () throws(ControlAPIError) in .uploadVideo(try project(s[1])) }),
                ])
            case "storage":
                return try pick([(.DELETE, { () throws(ControlAPIError) in .purgeProject(try project(s[1])) })])
            case "rejected":
                return try pick([(.GET, { () throws(ControlAPIError) in .rejected(try project(s[1])) })])
            default: break
            }
        case 4 where s[0] == "projects":
            if s[2] == "storage" && s[3] == "stats" {
                return try pick([(.GET, { () throws(ControlAPIError) in .projectStorageStats(try project(s[1])) })])
            }
            if s[2] == "videos" {
                return try pick([
                    (.GET, { () throws(ControlAPIError) in .getVideo(try project(s[1]), assetID: try assetID(s[3])) }),
                    (
                        .DELETE,
                        { () throws(ControlAPIError) in .deleteVideo(try project(s[1]), assetID: try assetID(s[3])) }
                    ),
                ])
            }
        case 5 where s[0] == "projects" && s[2] == "rejected" && s[4] == "retry":
            return try pick([
                (
                    .POST,
                    { () throws(ControlAPIError) in .retryRejected(try project(s[1]), name: try rejectedName(s[3])) }
                )
            ])
        case 5 where s[0] == "projects" && s[2] == "videos":
            guard let item = AssetFileItem(fileSegment: s[4]) else { break }
            return try pickFile(s, item)
        case 6 where s[0] == "projects" && s[2] == "videos" && s[4] == "renditions":
            return try pickFile(s, .rendition(try renditionName(s[5])))
        default: break
        }
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

    /// An asset id: 1…128 characters without `/`, NUL or control characters.
    static func assetID(_ raw: String) throws(ControlAPIError) -> String {
        guard !raw.isEmpty, raw.utf8.count <= 128,
            !raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "/" || $0.value == 0x7F })
        else {
            throw .badRequest("invalid_asset_id", "asset id \(String(reflecting: raw)) is not valid")
        }
        return raw
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
