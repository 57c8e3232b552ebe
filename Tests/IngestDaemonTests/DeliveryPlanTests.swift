import Foundation
import NIOHTTP1
import Testing

@testable import IngestDaemon
@testable import StorageKit

@Suite("Delivery: ranges, conditions, dates, record paths")
struct DeliveryPlanTests {
    let validators = DeliveryPlan.Validators(etag: "\"abc\"", lastModified: 1_800_000_000)

    func plan(_ headers: [(String, String)], size: Int64 = 1000) -> DeliveryPlan {
        DeliveryPlan.decide(headers: HTTPHeaders(headers), size: size, validators: validators)
    }

    @Test(arguments: [
        ("bytes=0-99", DeliveryPlan.partial(first: 0, last: 99)),
        ("bytes=100-", .partial(first: 100, last: 999)),
        ("bytes=-10", .partial(first: 990, last: 999)),
        ("bytes=-5000", .partial(first: 0, last: 999)),
        ("bytes=990-5000", .partial(first: 990, last: 999)),
        ("bytes=999-999", .partial(first: 999, last: 999)),
        ("BYTES = 5-6", .whole),  // space before '=': not the syntax
        ("Bytes=5-6", .partial(first: 5, last: 6)),
        ("bytes= 5 - 6 ", .partial(first: 5, last: 6)),
        ("bytes=1000-", .unsatisfiable),
        ("bytes=1000-2000", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=99999999999999999999999-", .unsatisfiable),
        ("bytes=0-99999999999999999999999", .partial(first: 0, last: 999)),
        ("bytes=0-1,5-6", .whole),  // several ranges: the whole file
        ("bytes=0-1,", .partial(first: 0, last: 1)),
        ("bytes=9-3", .whole),  // backwards: ignored
        ("bytes=abc", .whole),
        ("bytes=", .whole),
        ("items=0-1", .whole),
        ("bytes=-", .whole),
    ])
    func ranges(_ value: String, _ expected: DeliveryPlan) {
        #expect(plan([("Range", value)]) == expected, "\(value)")
    }

    @Test func emptyFileHasNoSatisfiableRange() {
        #expect(plan([("Range", "bytes=0-")], size: 0) == .unsatisfiable)
        #expect(plan([("Range", "bytes=-1")], size: 0) == .unsatisfiable)
        #expect(plan([], size: 0) == .whole)
    }

    @Test func twoRangeHeadersAreIgnored() {
        #expect(plan([("Range", "bytes=0-1"), ("Range", "bytes=2-3")]) == .whole)
    }

    @Test(arguments: [
        ("\"abc\"", true), ("W/\"abc\"", true), ("\"x\", \"abc\"", true), ("\"x\",W/\"abc\"", true), ("*", true),
        ("\"x\" , , \"abc\"", true), ("\"abcd\"", false), ("abc", false), ("\"x\"", false), ("", false),
    ])
    func ifNoneMatch(_ value: String, _ notModified: Bool) {
        #expect((plan([("If-None-Match", value)]) == .notModified) == notModified, "\(value)")
    }

    @Test func ifNoneMatchWinsOverRangeAndSeveralLinesCombine() {
        #expect(plan([("If-None-Match", "\"abc\""), ("Range", "bytes=0-1")]) == .notModified)
        #expect(plan([("If-None-Match", "\"x\""), ("If-None-Match", "\"abc\"")]) == .notModified)
    }

    @Test func ifModifiedSince() {
        let same = HTTPDate.format(1_800_000_000)
        #expect(plan([("If-Modified-Since", same)]) == .notModified)
        #expect(plan([("If-Modified-Since", HTTPDate.format(1_800_000_001))]) == .notModified)
        #expect(plan([("If-Modified-Since", HTTPDate.format(1_799_999_999))]) == .whole)
        #expect(plan([("If-Modified-Since", "yesterday")]) == .whole)
        // If-None-Match present and not matching: If-Modified-Since is not looked at.
        #expect(plan([("If-None-Match", "\"x\""), ("If-Modified-Since", same)]) == .whole)
    }

    /// If-Match (audit: it was ignored): strong comparison, `*` for any file, a list; a weak tag never matches.
    @Test(arguments: [
        ("\"abc\"", true), ("*", true), ("\"x\", \"abc\"", true), ("\"x\" , , \"abc\"", true),
        ("W/\"abc\"", false), ("\"x\", W/\"abc\"", false), ("\"nope\"", false), ("\"abcd\"", false),
        ("abc", false), ("", false),
    ])
    func ifMatch(_ value: String, _ matches: Bool) {
        let expected = matches ? DeliveryPlan.whole : .preconditionFailed(.ifMatch)
        #expect(plan([("If-Match", value)]) == expected, "\(value)")
    }

    @Test func ifMatchLinesCombineAndItWinsOverEverythingElse() {
        #expect(plan([("If-Match", "\"x\""), ("If-Match", "\"abc\"")]) == .whole)
        #expect(plan([("If-Match", "\"abc\""), ("Range", "bytes=0-1")]) == .partial(first: 0, last: 1))
        let failed = DeliveryPlan.preconditionFailed(.ifMatch)
        #expect(plan([("If-Match", "\"x\""), ("If-None-Match", "\"abc\"")]) == failed)
        #expect(plan([("If-Match", "\"x\""), ("If-Modified-Since", HTTPDate.format(1_800_000_000))]) == failed)
        #expect(plan([("If-Match", "\"x\""), ("Range", "bytes=0-1")]) == failed)
        #expect(plan([("If-Match", "\"x\""), ("Range", "bytes=5000-")]) == failed)
        // A matching If-Match, then If-None-Match is still evaluated.
        #expect(plan([("If-Match", "*"), ("If-None-Match", "\"abc\"")]) == .notModified)
    }

    @Test func ifUnmodifiedSince() {
        let failed = DeliveryPlan.preconditionFailed(.ifUnmodifiedSince)
        #expect(plan([("If-Unmodified-Since", HTTPDate.format(1_800_000_000))]) == .whole)
        #expect(plan([("If-Unmodified-Since", HTTPDate.format(1_800_000_001))]) == .whole)
        #expect(plan([("If-Unmodified-Since", HTTPDate.format(1_799_999_999))]) == failed)
        #expect(plan([("If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")]) == failed)
        // An unparseable date, or two of them, is ignored.
        #expect(plan([("If-Unmodified-Since", "yesterday")]) == .whole)
        let old = HTTPDate.format(1_000_000_000)
        #expect(plan([("If-Unmodified-Since", old), ("If-Unmodified-Since", old)]) == .whole)
        // Only without If-Match: a matching If-Match makes it ignored, a failing one answers first.
        #expect(plan([("If-Match", "\"abc\""), ("If-Unmodified-Since", old)]) == .whole)
        #expect(plan([("If-Match", "\"x\""), ("If-Unmodified-Since", old)]) == .preconditionFailed(.ifMatch))
        // It comes before If-None-Match and Range.
        #expect(plan([("If-Unmodified-Since", old), ("If-None-Match", "\"abc\"")]) == failed)
        #expect(plan([("If-Unmodified-Since", old), ("Range", "bytes=0-1")]) == failed)
        #expect(
            plan([("If-Unmodified-Since", HTTPDate.format(1_800_000_000)), ("If-None-Match", "\"abc\"")])
                == .notModified
        )
    }

    @Test func ifRange() {
        let range = ("Range", "bytes=10-19")
        #expect(plan([range, ("If-Range", "\"abc\"")]) == .partial(first: 10, last: 19))
        #expect(plan([range, ("If-Range", "\"old\"")]) == .whole)
        #expect(plan([range, ("If-Range", "W/\"abc\"")]) == .whole)  // weak tags never match If-Range
        #expect(plan([range, ("If-Range", HTTPDate.format(1_800_000_000))]) == .partial(first: 10, last: 19))
        #expect(plan([range, ("If-Range", HTTPDate.format(1_700_000_000))]) == .whole)
    }

    @Test func httpDates() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse(HTTPDate.format(1_800_000_000)) == 1_800_000_000)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 UTC") == nil)
        #expect(HTTPDate.parse("Sun, 36 Nov 1994 08:49:37 GMT") == nil)
    }

    @Test func contentDispositionKeepsTheNameReadableAndSafe() {
        #expect(
            ContentDisposition.inline(filename: "talk.mp4")
                == "inline; filename=\"talk.mp4\"; filename*=UTF-8''talk.mp4"
        )
        let odd = ContentDisposition.inline(filename: "été \"1\".mov")
        #expect(odd == "inline; filename=\"_t_ _1_.mov\"; filename*=UTF-8''%C3%A9t%C3%A9%20%221%22.mov")
    }

    // MARK: - Which file a record names

    func asset() -> Asset {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var a = Asset(
            id: "a1",
            projectID: "demo",
            filename: "talk-1a2b3c4d5e.mov",
            originalFilename: "talk.mov",
            relativePath: "uploads/project_demo/talk-1a2b3c4d5e.mov",
            checksum: String(repeating: "c", count: 64),
            sizeBytes: 10,
            mimeType: "video/quicktime",
            status: .ready,
            createdAt: now,
            updatedAt: now
        )
        a.thumbnailPath = "thumbnails/project_demo/talk-1a2b3c4d5e.jpg"
        a.renditions = [
            Rendition(
                name: "720p",
                relativePath: "processed/project_demo/talk-1a2b3c4d5e/720p.mp4",
                width: 1280,
                height: 720,
                videoCodec: "h264",
                audioCodec: "aac",
                sizeBytes: 5
            ),
            Rendition(
                name: "360p",
                relativePath: "processed/project_demo/talk-1a2b3c4d5e/360p.webm",
                width: 640,
                height: 360,
                videoCodec: "vp9",
                audioCodec: "opus",
                sizeBytes: 5
            ),
        ]
        a.sprite = SpriteSheet(
            imagePath: "processed/project_demo/talk-1a2b3c4d5e/sprite.jpg",
            vttPath: "processed/project_demo/talk-1a2b3c4d5e/sprite.vtt",
            intervalSeconds: 1,
            count: 3,
            columns: 10,
            tileWidth: 160,
            tileHeight: 90
        )
        return a
    }

    @Test func resolvesEachItemFromTheRecord() throws {
        let a = asset()
        let content = try Deliverable.resolve(asset: a, item: .content, root: "/s")
        #expect(content.relativePath == a.relativePath && content.contentType == "video/quicktime")
        #expect(content.checksum == a.checksum && content.recordedSize == 10 && content.downloadName == "talk.mov")
        #expect(try Deliverable.resolve(asset: a, item: .thumbnail, root: "/s").contentType == "image/jpeg")
        let r720 = try Deliverable.resolve(asset: a, item: .rendition("720p"), root: "/s")
        #expect(r720.relativePath.hasSuffix("/720p.mp4") && r720.contentType == "video/mp4" && r720.checksum == nil)
        #expect(try Deliverable.resolve(asset: a, item: .rendition("360p"), root: "/s").contentType == "video/webm")
        #expect(try Deliverable.resolve(asset: a, item: .rendition("720p.mp4"), root: "/s") == r720)
        #expect(try Deliverable.resolve(asset: a, item: .spriteImage, root: "/s").relativePath.hasSuffix("sprite.jpg"))
        #expect(try Deliverable.resolve(asset: a, item: .spriteVTT, root: "/s").contentType == "text/vtt")
    }

    @Test func missingDerivedFilesAndForeignPathsAre404() {
        var a = asset()
        #expect(throws: ControlAPIError.self) {
            try Deliverable.resolve(asset: a, item: .rendition("1080p"), root: "/s")
        }
        a.thumbnailPath = nil
        a.sprite = nil
        a.renditions = []
        for item in [AssetFileItem.thumbnail, .spriteImage, .spriteVTT, .rendition("720p")] {
            #expect(throws: ControlAPIError.self) { try Deliverable.resolve(asset: a, item: item, root: "/s") }
        }
        var foreign = asset()
        foreign.relativePath = "uploads/project_other/talk.mov"
        #expect(throws: ControlAPIError.self) { try Deliverable.resolve(asset: foreign, item: .content, root: "/s") }
        foreign.thumbnailPath = "uploads/project_demo/talk.jpg"
        #expect(throws: ControlAPIError.self) { try Deliverable.resolve(asset: foreign, item: .thumbnail, root: "/s") }
    }

    /// A 404 for a rendition or sprite the configuration turns off says so, instead of "yet" (audit).
    @Test func derivedFilesTurnedOffSaySo() {
        var a = asset()
        a.sprite = nil
        a.renditions = []
        func detail(_ item: AssetFileItem, _ off: Set<Deliverable.DerivedKind>) -> String {
            do {
                _ = try Deliverable.resolve(asset: a, item: item, root: "/s", derivedOff: off)
                return "found"
            } catch {
                return error.detail
            }
        }
        #expect(
            detail(.spriteImage, [.sprite]).hasSuffix(
                "has no sprite sheet (sprite sheets are turned off: SPRITE_INTERVAL=0)"
            )
        )
        #expect(detail(.spriteVTT, []).hasSuffix("has no sprite sheet yet"))
        #expect(detail(.rendition("720p"), [.renditions]).hasSuffix("(renditions are turned off: RENDITIONS is empty)"))
        #expect(detail(.rendition("720p"), [.sprite]).hasSuffix("(none is made yet)"))
    }

    @Test func routes() throws {
        let base = "/projects/demo/videos/a1"
        #expect(
            try ControlRouter.resolve(method: .GET, uri: base + "/content").route
                == .assetFile(ProjectID(exactly: "demo")!, assetID: "a1", .content)
        )
        #expect(
            try ControlRouter.resolve(method: .HEAD, uri: base + "/sprite.vtt").route
                == .assetFile(ProjectID(exactly: "demo")!, assetID: "a1", .spriteVTT)
        )
        #expect(
            try ControlRouter.resolve(method: .GET, uri: base + "/renditions/720p").route
                == .assetFile(ProjectID(exactly: "demo")!, assetID: "a1", .rendition("720p"))
        )
        #expect(try ControlRouter.resolve(method: .GET, uri: "/projects").route == .projects)
        #expect(throws: ControlAPIError.self) { try ControlRouter.resolve(method: .DELETE, uri: base + "/content") }
        #expect(throws: ControlAPIError.self) { try ControlRouter.resolve(method: .GET, uri: base + "/renditions/..") }
        #expect(throws: ControlAPIError.self) {
            try ControlRouter.resolve(method: .GET, uri: base + "/renditions/%2e%2e%2fx")
        }
        #expect(throws: ControlAPIError.self) { try ControlRouter.resolve(method: .GET, uri: base + "/other") }
    }
}
