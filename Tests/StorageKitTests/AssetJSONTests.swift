import Foundation
import Testing

@testable import StorageKit

struct AssetJSONTests {
    /// The top-level keys of the SPEC's example record.
    static let specKeys: Set<String> = [
        "id", "project_id", "filename", "original_filename", "relative_path", "checksum", "size_bytes", "mime_type",
        "status", "thumbnail_path", "metadata", "renditions", "sprite", "created_at", "updated_at",
    ]

    static let metadataKeys: Set<String> = [
        "duration_seconds", "format_name", "bit_rate", "width", "height", "rotation", "video_codec", "frame_rate",
        "audio_codec", "sample_rate", "channels",
    ]

    /// The SPEC's example, verbatim apart from the elided id and checksum.
    static let specExample = """
        {
          "id": "3f2b9c1e-0000-4000-8000-000000000001",
          "project_id": "demo",
          "filename": "lesson-1a2b3c4d5e.mp4",
          "original_filename": "lesson.mp4",
          "relative_path": "uploads/project_demo/lesson-1a2b3c4d5e.mp4",
          "checksum": "\(String(repeating: "0f", count: 32))",
          "size_bytes": 1048576,
          "mime_type": "video/mp4",
          "status": "ready",
          "thumbnail_path": "thumbnails/project_demo/lesson-1a2b3c4d5e.jpg",
          "metadata": {
            "duration_seconds": 12.5, "format_name": "mov,mp4,m4a,3gp,3g2,mj2",
            "bit_rate": 1200000, "width": 1280, "height": 720, "rotation": 0,
            "video_codec": "h264", "frame_rate": 30.0,
            "audio_codec": "aac", "sample_rate": 48000, "channels": 2
          },
          "renditions": [
            {"name": "720p", "relative_path": "processed/project_demo/lesson-1a2b3c4d5e/720p.mp4",
             "width": 1280, "height": 720, "video_codec": "h264", "audio_codec": "aac", "size_bytes": 734003}
          ],
          "sprite": {"image_path": "processed/project_demo/lesson-1a2b3c4d5e/sprite.jpg",
                     "vtt_path": "processed/project_demo/lesson-1a2b3c4d5e/sprite.vtt",
                     "interval_seconds": 0.5, "count": 25, "columns": 10, "tile_width": 160, "tile_height": 90},
          "created_at": "2026-11-24T10:00:00.123Z",
          "updated_at": "2026-11-24T10:00:01.456Z"
        }
        """

    static func object(_ asset: Asset) throws -> [String: Any] {
        let data = try JSONEncoder().encode(asset)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test(arguments: [AssetStatus.processing, .ready])
    func encodesExactlyTheSpecKeys(status: AssetStatus) throws {
        let asset = Fixture.asset(
            status: status,
            metadata: Fixture.fullMetadata,
            thumbnailPath: "thumbnails/project_demo/x.jpg"
        )
        let json = try Self.object(asset)
        #expect(Set(json.keys) == Self.specKeys)
        let metadata = try #require(json["metadata"] as? [String: Any])
        #expect(Set(metadata.keys) == Self.metadataKeys)
    }

    @Test func valuesAreWhereTheSpecPutsThem() throws {
        let asset = Fixture.asset(
            id: "3f2b",
            metadata: Fixture.fullMetadata,
            thumbnailPath: "thumbnails/project_demo/t.jpg"
        )
        let json = try Self.object(asset)
        #expect(json["id"] as? String == "3f2b")
        #expect(json["project_id"] as? String == "demo")
        #expect(json["filename"] as? String == asset.filename)
        #expect(json["original_filename"] as? String == "lesson.mp4")
        #expect(json["relative_path"] as? String == asset.relativePath)
        #expect(json["checksum"] as? String == String(repeating: "ab", count: 32))
        #expect(json["size_bytes"] as? Int == 1_048_576)
        #expect(json["mime_type"] as? String == "video/mp4")
        #expect(json["status"] as? String == "ready")
        #expect(json["thumbnail_path"] as? String == "thumbnails/project_demo/t.jpg")
        let m = try #require(json["metadata"] as? [String: Any])
        #expect(m["duration_seconds"] as? Double == 12.5)
        #expect(m["format_name"] as? String == "mov,mp4,m4a,3gp,3g2,mj2")
        #expect(m["bit_rate"] as? Int == 1_200_000)
        #expect(m["width"] as? Int == 1280)
        #expect(m["height"] as? Int == 720)
        #expect(m["rotation"] as? Int == 90)
        #expect(m["video_codec"] as? String == "h264")
        #expect(m["audio_codec"] as? String == "aac")
        #expect(m["sample_rate"] as? Int == 48_000)
        #expect(m["channels"] as? Int == 2)
    }

    @Test func thumbnailPathIsNullUntilSet() throws {
        let asset = Fixture.asset(thumbnailPath: nil)
        let json = try Self.object(asset)
        #expect(json.keys.contains("thumbnail_path"))
        #expect(json["thumbnail_path"] is NSNull)
        let text = String(decoding: try JSONEncoder().encode(asset), as: UTF8.self)
        #expect(text.contains(#""thumbnail_path":null"#))
    }

    @Test(arguments: [
        (
            MediaMetadata(width: 640, height: 480, rotation: 0, videoCodec: "mpeg4"),
            ["width", "height", "rotation", "video_codec"]
        ),
        (MediaMetadata(durationSeconds: 1, formatName: "avi"), ["duration_seconds", "format_name"]),
        (MediaMetadata(), []),
    ])
    func absentMediaKeysAreAbsent(metadata: MediaMetadata, keys: [String]) throws {
        let json = try Self.object(Fixture.asset(metadata: metadata))
        let m = try #require(json["metadata"] as? [String: Any])
        #expect(Set(m.keys) == Set(keys))
        #expect(!m.values.contains { $0 is NSNull })
    }

    @Test func unprobedMetadataIsAnEmptyObject() throws {
        let json = try Self.object(Fixture.asset(status: .processing, metadata: nil))
        let m = try #require(json["metadata"] as? [String: Any])
        #expect(m.isEmpty)
    }

    @Test(arguments: [
        (AssetStatus.failed, "probe failed: invalid data" as String?, true),
        (.failed, nil, true),
        (.ready, "stale error", false),
        (.processing, "stale error", false),
        (.ready, nil, false),
    ])
    func errorOnlyWhenFailed(status: AssetStatus, error: String?, present: Bool) throws {
        let json = try Self.object(Fixture.asset(status: status, error: error))
        #expect(json.keys.contains("error") == present)
        if present {
            #expect(json["error"] as? String == (error ?? "unknown error"))
            #expect(Set(json.keys) == Self.specKeys.union(["error"]))
        } else {
            #expect(Set(json.keys) == Self.specKeys)
        }
    }

    @Test(arguments: [
        (0 as Int64, "1970-01-01T00:00:00.000Z"),
        (1_764_000_000_123, "2025-11-24T16:00:00.123Z"),
        (1_764_000_000_999, "2025-11-24T16:00:00.999Z"),
        (1_764_000_001_000, "2025-11-24T16:00:01.000Z"),
        (1_795_514_400_123, "2026-11-24T10:00:00.123Z"),
        (951_782_400_007, "2000-02-29T00:00:00.007Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
    ])
    func timestampsAreUTCWithMilliseconds(millis: Int64, text: String) throws {
        let date = ISO8601Millis.date(milliseconds: millis)
        #expect(ISO8601Millis.string(from: date) == text)
        #expect(try ISO8601Millis.date(from: text) == date)
        let asset = Fixture.asset(createdMillis: millis)
        let json = try Self.object(asset)
        #expect(json["created_at"] as? String == text)
        let updated = try #require(json["updated_at"] as? String)
        #expect(updated.wholeMatch(of: #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/#) != nil)
    }

    @Test func subMillisecondTimesAreTruncatedNotRounded() {
        #expect(ISO8601Millis.string(from: Date(timeIntervalSince1970: 1.9996)) == "1970-01-01T00:00:01.999Z")
    }

    @Test(arguments: [
        Fixture.asset(status: .ready, metadata: Fixture.fullMetadata, thumbnailPath: "thumbnails/project_demo/a.jpg"),
        Fixture.asset(status: .ready, metadata: MediaMetadata(width: 2, height: 2, rotation: 270)),
        Fixture.asset(status: .processing, metadata: nil),
        Fixture.asset(status: .failed, metadata: nil, error: "decoder gave up"),
        Fixture.asset(project: "p_2", createdMillis: 0, status: .failed, metadata: Fixture.fullMetadata, error: "x"),
    ])
    func decodeOfEncodeIsIdentity(asset: Asset) throws {
        let data = try JSONEncoder().encode(asset)
        #expect(try JSONDecoder().decode(Asset.self, from: data) == asset)
    }

    @Test func keysAreSnakeCase() throws {
        let json = try Self.object(Fixture.asset(status: .failed, metadata: Fixture.fullMetadata, error: "e"))
        var keys = Array(json.keys)
        keys += (json["metadata"] as? [String: Any] ?? [:]).keys
        for key in keys {
            #expect(key.wholeMatch(of: #/[a-z]+(_[a-z]+)*/#) != nil, "\(key) is not snake_case")
        }
    }

    @Test func theSpecExampleDecodesAndEncodesBack() throws {
        let asset = try JSONDecoder().decode(Asset.self, from: Data(Self.specExample.utf8))
        #expect(asset.projectID == "demo")
        #expect(asset.status == .ready)
        #expect(asset.metadata?.frameRate == 30.0)
        #expect(asset.metadata?.rotation == 0)
        #expect(asset.renditions.map(\.name) == ["720p"])
        #expect(asset.sprite?.count == 25)
        #expect(ISO8601Millis.milliseconds(asset.createdAt) == 1_795_514_400_123)
        #expect(ISO8601Millis.milliseconds(asset.updatedAt) == 1_795_514_401_456)
        let original = try #require(
            try JSONSerialization.jsonObject(with: Data(Self.specExample.utf8)) as? NSDictionary
        )
        let again = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(asset)) as? NSDictionary)
        #expect(again == original)
    }
}
