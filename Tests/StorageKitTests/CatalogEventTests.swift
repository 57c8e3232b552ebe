import Foundation
import Testing

@testable import StorageKit

struct CatalogEventTests {
    static func event(_ n: Int, type: IngestEvent.EventType = .ingested) -> IngestEvent {
        IngestEvent(
            type: type,
            at: ISO8601Millis.date(milliseconds: Fixture.baseMillis + Int64(n)),
            projectID: "demo",
            assetID: "asset-\(n)",
            filename: "f\(n).mp4"
        )
    }

    @Test(arguments: TestBackend.all) func idsAreConsecutiveAndReplayReturnsWhatWasStored(_ backend: TestBackend) throws
    {
        let catalog = try backend.catalog()
        #expect(try catalog.lastEventID() == 0)
        #expect(try catalog.events(after: 0, limit: 10) == [])
        var stored: [IngestEvent] = []
        for (i, type) in IngestEvent.EventType.allCases.enumerated() {
            var e = Self.event(i, type: type)
            e.reason = type == .rejected ? "duplicate" : nil
            e.error = type == .failed ? "decoder error" : nil
            e.detail = type == .rejected ? "same SHA-256 as asset x" : nil
            let s = try catalog.appendEvent(e)
            #expect(s.id == Int64(i + 1))
            e.id = s.id
            e.node = "local"  // the catalog stamps its NODE_ID on events that name none
            #expect(s == e)
            stored.append(s)
        }
        #expect(try catalog.lastEventID() == 7)
        #expect(try catalog.events(after: 0, limit: 100) == stored)
        #expect(try catalog.events(after: 2, limit: 2) == Array(stored[2..<4]))
        #expect(try catalog.events(after: 7, limit: 100) == [])
        #expect(try catalog.events(after: -7, limit: 1) == [stored[0]])
        #expect(throwsStorageError(.invalidArgument, { _ = try catalog.events(after: 0, limit: -1) }))
    }

    /// A `failed` event names its step apart from the rendition (`"step":"rendition","rendition":"720p"`); both
    /// are stored and replayed, and written in the documented order.
    @Test(arguments: TestBackend.all) func aFailedEventKeepsItsStepAndRendition(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        var failed = Self.event(1, type: .failed)
        failed.step = "rendition"
        failed.rendition = "720p"
        failed.error = "rendition 720p of demo/f1.mp4 could not be made: No space left on device"
        var sprite = Self.event(2, type: .failed)
        sprite.step = "sprite"
        let stored = [try catalog.appendEvent(failed), try catalog.appendEvent(sprite)]
        #expect(try catalog.events(after: 0, limit: 10) == stored)
        #expect(stored.map(\.step) == ["rendition", "sprite"] && stored.map(\.rendition) == ["720p", nil])
        var bytes: [UInt8] = []
        stored[0].writeJSON(into: &bytes)
        let json = String(decoding: bytes, as: UTF8.self)
        #expect(json.contains(#""filename":"f1.mp4","step":"rendition","rendition":"720p","error":"#), "\(json)")
    }

    @Test func pruningKeepsAtLeastTheNewestTenThousand() throws {
        let catalog = try Catalog.inMemory()
        let total = 25_000
        try catalog.write { tx in
            for i in 1...total {
                let s = try tx.appendEvent(Self.event(i))
                if s.id != Int64(i) { throw StorageError(code: .invalidArgument, message: "id \(s.id) for event \(i)") }
            }
        }
        #expect(try catalog.lastEventID() == Int64(total))
        let kept = try catalog.events(after: 0, limit: 100_000)
        #expect(kept.count >= 10_000)
        #expect(kept.count <= 21_000, "pruning must bound the table: \(kept.count)")
        #expect(kept.first!.id > 1, "old events are pruned")
        // What is kept is one consecutive run ending at the newest event.
        #expect(kept.last!.id == Int64(total))
        #expect(zip(kept, kept.dropFirst()).allSatisfy { $1.id == $0.id + 1 })
        let newest = try catalog.events(after: Int64(total - 10_000), limit: 100_000)
        #expect(newest.count == 10_000)
        // Ids are never reused after pruning.
        #expect(try catalog.appendEvent(Self.event(0)).id == Int64(total + 1))
    }

    @Test func eventsAndTheirIdsSurviveAReopen() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        do {
            let catalog = try Catalog.open(layout: layout)
            for i in 1...3 { try catalog.appendEvent(Self.event(i)) }
        }
        let reopened = try Catalog.open(layout: layout)
        #expect(try reopened.lastEventID() == 3)
        #expect(try reopened.events(after: 1, limit: 10).map(\.id) == [2, 3])
        #expect(try reopened.appendEvent(Self.event(4)).id == 4)
    }

    @Test func jsonIsSnakeCaseWithNilKeysLeftOut() throws {
        var e = IngestEvent(
            id: 42,
            type: .thumbnailReady,
            at: ISO8601Millis.date(milliseconds: 1_795_999_200_123),
            projectID: "demo",
            assetID: "a1"
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(e), as: UTF8.self)
        #expect(
            json
                == #"{"asset_id":"a1","at":"2026-11-30T00:40:00.123Z","id":42,"project_id":"demo","type":"thumbnail_ready"}"#
        )
        e.reason = "duplicate"
        e.filename = "x.mp4"
        e.error = "bad"
        e.detail = "d"
        let back = try JSONDecoder().decode(IngestEvent.self, from: encoder.encode(e))
        #expect(back == e)
        #expect(
            IngestEvent.EventType.allCases.map(\.rawValue) == [
                "ingested", "rejected", "thumbnail_ready", "rendition_ready", "sprite_ready", "deleted", "failed",
            ]
        )
    }
}
