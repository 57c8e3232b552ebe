import NIOHTTP1

/// How a `GET` or `HEAD` of a stored file is answered, decided from the request's conditional and range headers
/// (RFC 9110 §13 and §14) and the file's validators.
///
/// Rules, in RFC 9110's order of evaluation (§13.2.2):
/// - `If-Match` (a list of entity tags or `*`, strong comparison: a weak `W/` tag never matches) that does not
///   match → 412. When it is absent, `If-Unmodified-Since` (an IMF-fixdate; anything else is ignored) earlier than
///   the file's mtime → 412.
/// - `If-None-Match` (a list of entity tags or `*`, weak comparison) that matches → 304. When it is present,
///   `If-Modified-Since` is ignored; otherwise a file not modified after that IMF-fixdate → 304.
/// - `Range`, only as one `bytes=` range: `a-b`, `a-` or `-n` (the last `n` bytes) → 206 with that part; a range
///   starting at or past the end (or `-0`, or any range of an empty file) → 416.
/// - A `Range` the server does not do is ignored and the whole file is sent (200): several ranges
///   (`bytes=0-1,5-6`: multipart answers are not made), another unit, a malformed or backwards range.
/// - `If-Range` with an entity tag (strong comparison) or an HTTP date (equal to `Last-Modified`) that does not
///   match makes the `Range` ignored: the whole file, which has changed, is sent.
/// - `HEAD` is answered exactly as `GET` (status and headers), without the body.
enum DeliveryPlan: Equatable, Sendable {
    case notModified
    case whole
    /// Bytes `first...last` of the file (inclusive, as `Content-Range` writes them).
    case partial(first: Int64, last: Int64)
    case unsatisfiable
    /// 412: a precondition of the request (`If-Match`, `If-Unmodified-Since`) is false.
    case preconditionFailed(Precondition)

    /// The request's precondition that is false.
    enum Precondition: Equatable, Sendable {
        case ifMatch
        case ifUnmodifiedSince
    }

    /// The validators of the file being answered.
    struct Validators: Equatable, Sendable {
        /// The entity tag with its quotes (`"abc"`), strong.
        var etag: String
        /// The file's mtime, seconds since the epoch (what `Last-Modified` says).
        var lastModified: Int64
    }

    /// Decides the answer for a request with `headers` about a file of `size` bytes.
    static func decide(headers: HTTPHeaders, size: Int64, validators: Validators) -> DeliveryPlan {
        let match = headers["if-match"]
        if !match.isEmpty {
            if !EntityTags.matches(match.joined(separator: ","), etag: validators.etag, weak: false) {
                return .preconditionFailed(.ifMatch)
            }
        } else if let since = single(headers, "if-unmodified-since").flatMap(HTTPDate.parse),
            validators.lastModified > since
        {
            return .preconditionFailed(.ifUnmodifiedSince)
        }
        let noneMatch = headers["if-none-match"]
        if !noneMatch.isEmpty {
            if EntityTags.matches(noneMatch.joined(separator: ","), etag: validators.etag, weak: true) {
                return .notModified
            }
        } else if let since = single(headers, "if-modified-since").flatMap(HTTPDate.parse),
            validators.lastModified <= since
        {
            return .notModified
        }
        let ranges = headers["range"]
        guard ranges.count == 1 else { return .whole }
        if let ifRange = single(headers, "if-range"), !ifRangeMatches(ifRange, validators) {
            return .whole
        }
        return byteRange(ranges[0], size: size)
    }

    /// The plan for one `Range` header value on a file of `size` bytes.
    static func byteRange(_ value: String, size: Int64) -> DeliveryPlan {
        let trimmed = value.trimmingOWS()
        guard trimmed.count > 6, trimmed.prefix(6).lowercased() == "bytes=" else { return .whole }
        let specs = trimmed.dropFirst(6).split(separator: ",").map { $0.trimmingOWS() }.filter { !$0.isEmpty }
        guard specs.count == 1, let dash = specs[0].firstIndex(of: "-") else { return .whole }
        let spec = specs[0]
        let firstText = spec[..<dash].trimmingOWS()
        let lastText = spec[spec.index(after: dash)...].trimmingOWS()
        if firstText.isEmpty {
            // `-n`: the last n bytes.
            guard let n = number(lastText) else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .partial(first: max(0, size - n), last: size - 1)
        }
        guard let first = number(firstText) else { return .whole }
        var last = size - 1
        if !lastText.isEmpty {
            guard let l = number(lastText) else { return .whole }
            guard l >= first else { return .whole }  // backwards: invalid, ignored
            last = min(l, size - 1)
        }
        guard first < size else { return .unsatisfiable }
        return .partial(first: first, last: last)
    }

    /// `If-Range`: an entity tag compared strongly, or a date equal to `Last-Modified`.
    private static func ifRangeMatches(_ value: String, _ validators: Validators) -> Bool {
        let v = value.trimmingOWS()
        if v.hasPrefix("\"") || v.hasPrefix("W/") {
            return EntityTags.matches(String(v), etag: validators.etag, weak: false)
        }
        return HTTPDate.parse(String(v)) == validators.lastModified
    }

    /// The header's value when it appears exactly once.
    private static func single(_ headers: HTTPHeaders, _ name: String) -> String? {
        let values = headers[name]
        return values.count == 1 ? values[0] : nil
    }

    /// Decimal digits only; saturates at `Int64.max` rather than overflowing.
    static func number(_ text: Substring) -> Int64? {
        guard !text.isEmpty else { return nil }
        var value: Int64 = 0
        for c in text.utf8 {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int64(c - 0x30))
            value = (o1 || o2) ? Int64.max : sum
        }
        return value
    }
}

/// Entity-tag lists (`If-Match`, `If-None-Match`, `If-Range`).
enum EntityTags {
    /// Whether `list` (`*`, or comma-separated tags such as `"a", W/"b"`) matches `etag`. Weak comparison ignores
    /// `W/` on both sides; strong comparison never matches a weak tag.
    static func matches(_ list: String, etag: String, weak: Bool) -> Bool {
        let ours = etag.hasPrefix("W/") ? (weak ? String(etag.dropFirst(2)) : nil) : etag
        guard let ours else { return false }
        var rest = Substring(list)
        while true {
            rest = rest.drop(while: { $0 == "," || $0 == " " || $0 == "\t" })
            if rest.isEmpty { return false }
            if rest.first == "*" { return true }
            var isWeak = false
            if rest.hasPrefix("W/") {
                isWeak = true
                rest = rest.dropFirst(2)
            }
            guard rest.first == "\"", let close = rest.dropFirst().firstIndex(of: "\"") else { return false }
            let tag = rest[...close]
            rest = rest[rest.index(after: close)...]
            if tag == ours && (weak || !isWeak) { return true }
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingOWS() -> SubSequence {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
