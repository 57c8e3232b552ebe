import Foundation

/// ISO-8601 UTC timestamps with milliseconds (`2026-11-24T10:00:00.123Z`), the SPEC's time format.
public enum ISO8601Millis {
    /// Formats `date` in UTC with exactly three fraction digits.
    public static func string(from date: Date) -> String {
        let millis = milliseconds(date)
        var seconds = time_t(millis / 1000)
        let fraction = Int(millis - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900,
            Int(parts.tm_mon) + 1,
            Int(parts.tm_mday),
            Int(parts.tm_hour),
            Int(parts.tm_min),
            Int(parts.tm_sec),
            fraction
        )
    }

    /// Parses what `string(from:)` writes (fraction optional).
    public static func date(from string: String) throws -> Date {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // Normalized onto the millisecond so that a parsed time equals the one that was formatted.
        if let d = f.date(from: string) { return date(milliseconds: milliseconds(d)) }
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: string) { return date(milliseconds: milliseconds(d)) }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not an ISO-8601 time: \(string)"))
    }

    /// Whole milliseconds since 1970 of `date`, truncated. A date that already sits on a millisecond
    /// (one made by `date(milliseconds:)` or `now()`) gives exactly that millisecond back: `Date`
    /// keeps seconds since 2001 as a `Double`, so `t * 1000` can land a hair below the integer.
    public static func milliseconds(_ date: Date) -> Int64 {
        let scaled = date.timeIntervalSince1970 * 1000
        let nearest = scaled.rounded()
        return Int64(abs(scaled - nearest) < 1e-3 ? nearest : scaled.rounded(.down))
    }

    /// The date `millis` milliseconds after 1970-01-01T00:00:00Z.
    public static func date(milliseconds millis: Int64) -> Date {
        Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    /// Now, truncated to whole milliseconds so that a stored and re-read record compares equal.
    public static func now() -> Date {
        date(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}

/// A record's time, coded as the SPEC writes times: ISO-8601 UTC text with milliseconds
/// (``ISO8601Millis/string(from:)``), read back with ``ISO8601Millis/date(from:)``.
@propertyWrapper
public struct ISO8601MillisCoded: Codable, Sendable, Equatable {
    /// The time.
    public var wrappedValue: Date

    /// Wraps `wrappedValue`.
    public init(wrappedValue: Date) { self.wrappedValue = wrappedValue }

    /// Reads the time from its text; throws `DecodingError` when it is not an ISO-8601 time.
    public init(from decoder: any Decoder) throws {
        wrappedValue = try ISO8601Millis.date(from: decoder.singleValueContainer().decode(String.self))
    }

    /// Writes the time as its text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(ISO8601Millis.string(from: wrappedValue))
    }
}
