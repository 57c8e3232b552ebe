import Testing

@testable import StorageKit

/// The timestamps a rendition's pictures get from the source's (`RenditionTimeline`), at 25 fps in a 1/1000
/// time base (40 ticks a picture, 1,000 a second).
struct RenditionTimelineTests {
    static func placed(
        _ sources: [Int64?],
        origin: Int64 = 0,
        discontinuous: Bool = false,
        duration: Int64 = 40
    ) throws -> [Int64] {
        var timeline = RenditionTimeline(origin: origin, ticksPerSecond: 1000, discontinuous: discontinuous)
        return try sources.map { try timeline.place($0, duration: duration) }
    }

    @Test func growingTimestampsPassUnchanged() throws {
        #expect(try Self.placed([0, 40, 80, 120]) == [0, 40, 80, 120])
        #expect(try Self.placed([1400, 1440, 1520]) == [1400, 1440, 1520])
    }

    @Test func aMissingTimestampContinuesOnePictureAfterTheLast() throws {
        #expect(try Self.placed([nil, nil, 80], origin: 7) == [7, 47, 80])
        #expect(try Self.placed([0, nil, nil, 120]) == [0, 40, 80, 120])
    }

    @Test func aRepeatedOrSlightlyEarlierTimestampMovesOneTickPastTheLast() throws {
        #expect(try Self.placed([0, 40, 40, 80]) == [0, 40, 41, 80])
        #expect(try Self.placed([0, 400, 320, 440]) == [0, 400, 401, 440])
    }

    @Test func aJumpBackIsADiscontinuityAndLaterPicturesKeepTheirSpacing() throws {
        // Two parts that both start at 1,400 (two clips joined with cat).
        #expect(try Self.placed([1400, 1440, 2600, 1400, 1440]) == [1400, 1440, 2600, 2640, 2680])
        // A tenth of a second back is one already.
        #expect(try Self.placed([0, 40, 200, 100, 140]) == [0, 40, 200, 240, 280])
    }

    @Test func aJumpForwardIsKeptExceptInFormatsWhoseTimestampsMayJump() throws {
        #expect(try Self.placed([0, 40, 60_000, 60_040]) == [0, 40, 60_000, 60_040])
        #expect(try Self.placed([0, 40, 60_000, 60_040], discontinuous: true) == [0, 40, 80, 120])
        // Up to 10 s forward is a pause, even there.
        #expect(try Self.placed([0, 40, 9_000], discontinuous: true) == [0, 40, 9_000])
    }

    @Test func timestampsWrappedFromNearInt64MaxGiveASaneTimeline() throws {
        let wrapped = Int64.min + 40
        #expect(try Self.placed([nil, wrapped, wrapped + 40, wrapped + 80]) == [0, 40, 80, 120])
        #expect(
            try Self.placed([Int64.max - 100, wrapped, wrapped + 40]) == [
                Int64.max - 100, Int64.max - 60, Int64.max - 20,
            ]
        )
    }

    @Test func aTimelinePastTheLargestValueIsRefusedNotATrap() throws {
        #expect(throws: MediaError.self) { try Self.placed([Int64.max - 1, Int64.max - 1, Int64.max - 1]) }
        #expect(throws: MediaError.self) { try Self.placed([Int64.max - 10, nil]) }
        #expect(throws: MediaError.self) { try Self.placed([Int64.max - 10, 0]) }
        #expect(throws: MediaError.self) { try Self.placed([1, nil], duration: .max) }
    }
}
