import Foundation
import Testing

@testable import StorageKit

struct MediaMetadataCatalogJSONTests {
    static let samples: [MediaMetadata] = [
        MediaMetadata(),
        Fixture.fullMetadata,
        MediaMetadata(durationSeconds: 0.1, frameRate: 1e-7),
        MediaMetadata(durationSeconds: 1e21, bitRate: Int.max, width: -1, frameRate: 23.976023976023978),
        MediaMetadata(formatName: "quote\" back\\slash\nnew\tline \u{1} é 日本 🎬", videoCodec: ""),
        MediaMetadata(rotation: 270, audioCodec: "pcm_s16le", sampleRate: 44_100, channels: 6),
        MediaMetadata(
            width: 3840,
            pixelFormat: "yuv420p10le",
            bitDepth: 10,
            colorTransfer: "arib-std-b67",
            creationTime: "2026-05-01T12:34:56Z",
            make: "Apple",
            model: "iPhone 15 Pro",
            location: "+48.8577+002.2950+035.000/"
        ),
        MediaMetadata(make: "Caf\u{E9} \"cam\"", model: ""),
    ]

    @Test(arguments: samples)
    func roundTripsThroughTheColumnText(_ m: MediaMetadata) throws {
        let json = try m.catalogJSON()
        #expect(try MediaMetadata(catalogJSON: json, decoder: JSONDecoder()) == m)
        // The text is valid JSON that Foundation reads to the same value.
        #expect(try JSONDecoder().decode(MediaMetadata.self, from: Data(json.utf8)) == m)
    }

    @Test(arguments: samples)
    func readsWhatJSONEncoderWrites(_ m: MediaMetadata) throws {
        for formatting: JSONEncoder.OutputFormatting in [[], [.sortedKeys], [.prettyPrinted]] {
            let e = JSONEncoder()
            e.outputFormatting = formatting
            let json = String(decoding: try e.encode(m), as: UTF8.self)
            #expect(try MediaMetadata(catalogJSON: json, decoder: JSONDecoder()) == m, "\(json)")
        }
    }

    @Test func theFastReaderDeclinesWhatItDoesNotKnow() {
        #expect(MediaMetadata.parseFlat(#"{"width":1280}"#) == MediaMetadata(width: 1280))
        #expect(MediaMetadata.parseFlat(#" { } "#) == MediaMetadata())
        #expect(MediaMetadata.parseFlat(#"{"format_name":"a\"b"}"#) == nil)
        #expect(MediaMetadata.parseFlat(#"{"width":1.5}"#) == nil)
        #expect(MediaMetadata.parseFlat(#"{"extra":{"x":1}}"#) == nil)
        #expect(MediaMetadata.parseFlat(#"{"width":1280"#) == nil)
        #expect(MediaMetadata.parseFlat(#"{"width":1280} x"#) == nil)
        #expect(MediaMetadata.parseFlat(#"[1]"#) == nil)
        #expect(MediaMetadata.parseFlat(#"{"width":null}"#) == nil)
    }

    @Test func fallbackReadsEscapesAndUnknownKeys() throws {
        let m = try MediaMetadata(
            catalogJSON: #"{"format_name":"a\"b\u00e9","extra":[1,2],"width":2}"#,
            decoder: JSONDecoder()
        )
        #expect(m == MediaMetadata(formatName: "a\"bé", width: 2))
        #expect(throws: (any Error).self) { try MediaMetadata(catalogJSON: "{nope", decoder: JSONDecoder()) }
    }

    @Test func nonFiniteNumbersAreRefusedWithTheirKey() {
        #expect(
            throwsStorageError(.invalidArgument, { _ = try MediaMetadata(durationSeconds: .nan).catalogJSON() }) {
                $0.message.contains("duration_seconds")
            }
        )
        #expect(throwsStorageError(.invalidArgument, { _ = try MediaMetadata(frameRate: .infinity).catalogJSON() }))
    }
}
