import Foundation
import Testing

@testable import StorageKit

/// The ordered writer must say exactly what the `Codable` encoding says, in the SPEC's key order.
struct AssetOrderedJSONTests {
    static let full = MediaMetadata(
        durationSeconds: 12.5,
        formatName: "mov,mp4,m4a,3gp,3g2,mj2",
        bitRate: 1_200_000,
        width: 1280,
        height: 720,
        rotation: 90,
        videoCodec: "h264",
        frameRate: 29.97,
        audioCodec: "aac",
        sampleRate: 48000,
        channels: 2
    )

    static let cases: [Asset] = {
        var odd = Fixture.asset(status: .failed, error: "thumbnail: \"quoted\" \\ back\nslash\t\u{1}")
        odd.originalFilename = "Ünïcödé / \"name\".mp4"
        return [
            Fixture.asset(metadata: full, thumbnailPath: "thumbnails/project_demo/lesson.jpg"),
            Fixture.asset(status: .processing),
            Fixture.asset(metadata: MediaMetadata(durationSeconds: 2, width: 320, height: 180, rotation: 0)),
            odd,
        ]
    }()

    @Test(arguments: cases)
    func sameObjectAsTheCodableEncoding(asset: Asset) throws {
        let ordered = try JSONSerialization.jsonObject(with: Data(asset.orderedJSON)) as? NSDictionary
        let codable = try JSONSerialization.jsonObject(with: JSONEncoder().encode(asset)) as? NSDictionary
        #expect(ordered != nil)
        #expect(ordered == codable)
        #expect(try JSONDecoder().decode(Asset.self, from: Data(asset.orderedJSON)) == asset)
    }

    /// The SPEC's record writes `"frame_rate": 30.0`: a whole rate or duration is still written as a float.
    @Test func wholeRatesAndDurationsAreWrittenAsFloats() throws {
        var asset = Fixture.asset()
        asset.metadata = MediaMetadata(durationSeconds: 2, frameRate: 25)
        let text = String(decoding: asset.orderedJSON, as: UTF8.self)
        #expect(text.contains("\"duration_seconds\":2.0"))
        #expect(text.contains("\"frame_rate\":25.0"))
    }

    @Test func keysComeInTheSpecOrder() throws {
        let text = String(decoding: Self.cases[0].orderedJSON, as: UTF8.self)
        let keys = [
            "\"id\"", "\"project_id\"", "\"filename\"", "\"original_filename\"", "\"relative_path\"", "\"checksum\"",
            "\"size_bytes\"", "\"mime_type\"", "\"status\"", "\"thumbnail_path\"", "\"metadata\"",
            "\"duration_seconds\"",
            "\"format_name\"", "\"bit_rate\"", "\"width\"", "\"height\"", "\"rotation\"", "\"video_codec\"",
            "\"frame_rate\"", "\"audio_codec\"", "\"sample_rate\"", "\"channels\"", "\"created_at\"", "\"updated_at\"",
        ]
        let positions = keys.map { text.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(text.contains(#""thumbnail_path":"thumbnails/project_demo/lesson.jpg""#))
        #expect(
            String(decoding: Self.cases[1].orderedJSON, as: UTF8.self).contains(#""thumbnail_path":null,"metadata":{}"#)
        )
        #expect([Self.cases[1], Self.cases[2]].orderedJSON.first == UInt8(ascii: "["))
    }
}

struct IngestEventOrderedJSONTests {
    @Test(arguments: [
        IngestEvent(
            id: 7,
            type: .rejected,
            projectID: "p",
            filename: "a \"b\".mp4",
            reason: "empty",
            detail: "the file is empty"
        ),
        IngestEvent(id: 8, type: .ingested, projectID: "p", assetID: "x", filename: "a.mp4"),
        IngestEvent(id: 9, type: .failed, projectID: "p", assetID: "x", error: "thumbnail: decoder crashed twice"),
    ])
    func sameObjectAsTheCodableEncoding(event: IngestEvent) throws {
        let ordered = try JSONSerialization.jsonObject(with: Data(event.orderedJSON)) as? NSDictionary
        #expect(ordered != nil)
        #expect(ordered == (try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as? NSDictionary))
        #expect(String(decoding: event.orderedJSON, as: UTF8.self).hasPrefix(#"{"id":\#(event.id),"type":""#))
    }
}
