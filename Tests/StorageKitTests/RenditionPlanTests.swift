import IngestConfig
import Testing

@testable import StorageKit

struct RenditionPlanTests {
    @Test func ladderNeverExceedsTheSourceAndNamesTheShorterSide() {
        let landscape = RenditionGeometry(codedWidth: 1280, codedHeight: 720)
        #expect(
            landscape.plan([.p1080, .p720, .p480]) == [
                .init(name: "720p", width: 1280, height: 720), .init(name: "480p", width: 854, height: 480),
            ]
        )
        // A phone's portrait clip: stored 1920×1080, turned 90° for display.
        let portrait = RenditionGeometry(codedWidth: 1920, codedHeight: 1080, rotation: 90)
        #expect(portrait.plan([.p720]) == [.init(name: "720p", width: 720, height: 1280)])
    }

    @Test func aClipSmallerThanEveryStepGetsOneAtItsOwnSize() {
        let tiny = RenditionGeometry(codedWidth: 320, codedHeight: 180)
        #expect(tiny.plan([.p720, .p480]) == [.init(name: "180p", width: 320, height: 180)])
        let odd = RenditionGeometry(codedWidth: 213, codedHeight: 121)
        #expect(odd.plan([.p240]) == [.init(name: "120p", width: 212, height: 120)])
        #expect(tiny.plan([]) == [])
    }

    @Test func sampleAspectIsApplied() {
        // PAL 16:9 anamorphic: 720×576 stored, 1024×576 displayed.
        let anamorphic = RenditionGeometry(codedWidth: 720, codedHeight: 576, sampleAspect: 64.0 / 45.0)
        #expect(anamorphic.plan([.p480]) == [.init(name: "480p", width: 854, height: 480)])
        #expect(anamorphic.tile(width: 160) == (160, 90))
    }

    @Test(arguments: [
        (SpriteInterval.auto, 12.5, 0.5, 25),
        (SpriteInterval.auto, 600.0, 6.0, 100),
        (SpriteInterval.auto, 1.0, 0.5, 2),
        (SpriteInterval.every(2), 10.0, 2.0, 5),
        (SpriteInterval.every(1), 7200.0, 7.2, 1000),
    ])
    func spriteLayout(interval: SpriteInterval, duration: Double, expectedInterval: Double, expectedCount: Int) throws {
        let layout = try #require(SpritePlan.layout(interval, duration: duration))
        #expect(layout.interval == expectedInterval)
        #expect(layout.count == expectedCount)
    }

    @Test func noSpriteWhenTheIntervalIsZero() {
        #expect(SpritePlan.layout(.none, duration: 10) == nil)
    }

    @Test func webVTTCuesPointAtTheTiles() {
        let image = SpriteSheetImage(
            jpeg: [],
            intervalSeconds: 0.5,
            count: 12,
            columns: 10,
            tileWidth: 160,
            tileHeight: 90,
            durationSeconds: 5.9
        )
        let vtt = image.webVTT(imageName: "sprite.jpg")
        #expect(vtt.hasPrefix("WEBVTT\n\n00:00:00.000 --> 00:00:00.500\nsprite.jpg#xywh=0,0,160,90\n"))
        #expect(vtt.contains("00:00:05.000 --> 00:00:05.500\nsprite.jpg#xywh=0,90,160,90\n"))
        #expect(vtt.hasSuffix("00:00:05.500 --> 00:00:05.900\nsprite.jpg#xywh=160,90,160,90\n"))
    }

    @Test func jobParamsRoundTrip() throws {
        let params = try #require(DerivedWork.renditionParams(container: "webm", ladder: [.p720, .p360]))
        #expect(params == "webm:720p,360p")
        let plan = try #require(DerivedWork.renditionPlan(params: params))
        #expect(plan.container == .webm)
        #expect(plan.ladder == [.p720, .p360])
        #expect(DerivedWork.renditionParams(container: "mp4", ladder: []) == nil)
        #expect(DerivedWork.spriteInterval(params: DerivedWork.spriteParams(.every(2.5))!) == .every(2.5))
        #expect(DerivedWork.spriteInterval(params: "auto") == .auto)
        #expect(DerivedWork.spriteParams(.none) == nil)
    }
}
