import Foundation

/// ISO-8601 UTC timestamps with milliseconds (`2026-11-24T10:00:00.123Z`), the SPEC's time format.
public enum ISO8601Millis {
    /// Formats `date` in UTC with exactly three fraction digits.
    public static func string(from date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(millis / 1000)
        let fraction = Int(millis - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), fraction)
    }

    /// Parses what `string(from:)` writes (fraction optional).
    public static func date(from string: String) throws -> Date {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: string) { return d }
        f.formatOptions = [.withInternetDateTime]
        if let d = f.date(from: string) { return d }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not an ISO-8601 time: \(string)"))
    }

    /// Now, truncated to whole milliseconds so that a stored and re-read record compares equal.
    public static func now() -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }
}
