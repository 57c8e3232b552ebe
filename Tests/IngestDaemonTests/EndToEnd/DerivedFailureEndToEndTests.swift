import Foundation
import Testing

/// Found by a black-box audit: a rendition or sprite that could not be stored sent `failed` events whose `error`
/// named internal paths (`mkdir /…/storage/processed/project_rf: Not a directory`) and whose `rendition` was the
/// step (`rendition:90p`, or `sprite` for a sprite). The event names the step in `step`, a rendition by its name
/// in `rendition`, and says what failed of the file as the user named it.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct DerivedFailureEndToEndTests {
    @Test func failedRenditionAndSpriteEventsNameTheStepAndTheFileWithoutPaths() async throws {
        let h = try DaemonHarness(environment: ["RENDITIONS": "360p", "SPRITE_INTERVAL": "auto"])
        defer { h.remove() }
        // A file where the project's processed/ folder belongs: nothing can be made in it.
        try FileManager.default.createDirectory(atPath: h.storage + "/processed", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: h.storage + "/processed/project_rf", contents: Data("x".utf8)))
        try await h.start()
        try h.drop(try await TestClips.mp4, as: "rf/clip.mp4")
        var failed: [[String: Any]] = []
        try await waitUntil("a failed event for the sprite and for the rendition", timeout: .seconds(90)) {
            let text = try await h.request("GET", "/events?since=0", maxTime: 1).text
            failed = text.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { $0["type"] as? String == "failed" }
            return failed.count >= 2
        }
        let rendition = try #require(failed.first { $0["step"] as? String == "rendition" }, "\(failed)")
        let sprite = try #require(failed.first { $0["step"] as? String == "sprite" }, "\(failed)")
        // 320×180: the one rendition is made at the source's size.
        #expect(rendition["rendition"] as? String == "180p")
        #expect(sprite["rendition"] == nil, "a sprite is no rendition: \(sprite)")
        for event in [rendition, sprite] {
            let error = try #require(event["error"] as? String)
            #expect(error.contains("rf/clip.mp4"), "\(error)")
            #expect(!error.contains(h.root) && !error.contains("processed") && !error.contains("mkdir"), "\(error)")
            #expect(event["project_id"] as? String == "rf" && event["asset_id"] as? String != nil)
        }
        #expect((rendition["error"] as? String)?.contains("180p") == true)
        #expect((sprite["error"] as? String)?.contains("sprite") == true)
        // The asset stays ready.
        #expect(try await h.assets("rf").first?["status"] as? String == "ready")
        #expect(try await h.stop() == 0)
    }
}
