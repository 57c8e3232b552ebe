import Testing

@testable import StorageKit

@Suite("Media tags")
struct MediaTagsTests {
    @Test(
        "dates become ISO-8601 UTC",
        arguments: [
            ("2026-05-01T12:34:56.000000Z", "2026-05-01T12:34:56Z"),
            ("2026-05-01T14:34:56+0200", "2026-05-01T12:34:56Z"),
            ("2026-05-01T14:34:56+02:00", "2026-05-01T12:34:56Z"),
            ("2026-05-01T05:04:56-0730", "2026-05-01T12:34:56Z"),
            ("2026-01-01T01:00:00+0200", "2025-12-31T23:00:00Z"),
            ("2024-02-29 23:59:59", "2024-02-29T23:59:59Z"),
            ("2026-05-01T12:34:56.250Z", "2026-05-01T12:34:56.250Z"),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
            ("1904-01-01T00:00:00Z", "1904-01-01T00:00:00Z"),
        ]
    )
    func dates(text: String, expected: String) {
        #expect(ISO8601UTC.normalize(text) == expected)
    }

    @Test(
        "texts that are not dates are dropped",
        arguments: [
            "", "yesterday", "2026-13-01T00:00:00Z", "2026-05-01",
            "2026-05-01T12:34:56+2", "1899-12-31T00:00:00Z",
            "2026-05-01T12:34:56Zjunk",
        ]
    )
    func notDates(text: String) {
        #expect(ISO8601UTC.normalize(text) == nil)
    }

    @Test(
        "ISO 6709 locations",
        arguments: [
            ("+48.8577+002.2950/", "+48.8577+002.2950/"), ("+48.8577+002.2950+035.000/", "+48.8577+002.2950+035.000/"),
            ("-33.8688+151.2093", "-33.8688+151.2093/"),
        ]
    )
    func locations(text: String, expected: String) {
        #expect(MediaTags.normalizedLocation(text) == expected)
    }

    @Test("texts that are not ISO 6709 are dropped", arguments: ["Paris", "48.8577,2.2950", "+48.8577", ""])
    func notLocations(text: String) {
        #expect(MediaTags.normalizedLocation(text) == nil)
    }
}
