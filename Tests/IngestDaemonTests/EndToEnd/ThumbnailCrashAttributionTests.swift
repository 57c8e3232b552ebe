import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10, scenario 1: a decoder that kills the daemon is charged to its own asset only. The crash is
/// simulated through the debug build's fault seam (`INGESTD_DEBUG_THUMBNAIL_CRASH`), with every render held
/// long enough that two are in flight when it strikes.
@Suite(.timeLimit(.minutes(3)))
struct ThumbnailCrashAttributionTests {
    @Test func aDecoderCrashCountsOnlyAgainstTheAssetThatCausedIt() async throws {
        let h = try DaemonHarness(environment: [
            "FFMPEG_THREADS": "2", "INGESTD_DEBUG_THUMBNAIL_DELAY_MS": "1500", "INGESTD_DEBUG_THUMBNAIL_CRASH": "boom",
            // Die at once, as a trap does without the runtime's backtracer (which may hang in a sandbox).
            "SWIFT_BACKTRACE": "enable=no",
        ])
        defer { h.remove() }
        let clips = try await TestClips.distinctMP4s(2, into: h.root + "/clips")
        try await h.start()
        try h.drop(clips[0], as: "cr/boom.mp4")
        try h.drop(clips[1], as: "cr/good.mp4")
        // Each start either ends in the simulated crash or renders the good clip; at most five rounds. A restart
        // may die before its socket answers (the suspect renders first), so it is not waited for.
        for _ in 0..<5 {
            let deadline = ContinuousClock.now + .seconds(30)
            while h.process?.isRunning == true, ContinuousClock.now < deadline {
                if (try? await Self.settled(h)) == true { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            if h.process?.isRunning == true { break }
            try await h.start(waitForHealth: false)
        }
        try await waitUntil("boom is failed and good has its thumbnail", timeout: .seconds(30)) {
            try await Self.settled(h)
        }
        let assets = try await h.assets("cr")
        let good = try #require(assets.first { $0["original_filename"] as? String == "good.mp4" })
        let boom = try #require(assets.first { $0["original_filename"] as? String == "boom.mp4" })
        #expect(good["status"] as? String == "ready")
        #expect(good["thumbnail_path"] as? String != nil)
        #expect(boom["status"] as? String == "failed")
        #expect((boom["error"] as? String)?.contains("crashed") == true)
        #expect(try await h.stop() == 0)
    }

    static func settled(_ h: DaemonHarness) async throws -> Bool {
        let assets = try await h.assets("cr")
        let good = assets.first { $0["original_filename"] as? String == "good.mp4" }
        let boom = assets.first { $0["original_filename"] as? String == "boom.mp4" }
        return (good?["thumbnail_path"] as? String != nil || good?["status"] as? String == "failed")
            && boom?["status"] as? String == "failed"
    }
}
