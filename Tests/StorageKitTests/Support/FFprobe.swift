import Foundation
import TestSupport

/// What `ffprobe -show_streams -show_format` says about a file, as JSON objects.
struct FFprobeReport {
    let streams: [[String: Any]]
    let format: [String: Any]

    init(_ file: String) async throws {
        let data = Data(
            try await HelperPrograms.run(
                "/usr/bin/ffprobe",
                ["-v", "error", "-show_streams", "-show_format", "-of", "json", file]
            )
            .stdout
        )
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        streams = object["streams"] as? [[String: Any]] ?? []
        format = object["format"] as? [String: Any] ?? [:]
    }

    var video: [String: Any]? { streams.first { $0["codec_type"] as? String == "video" } }
    var audio: [String: Any]? { streams.first { $0["codec_type"] as? String == "audio" } }
    var duration: Double { Double(format["duration"] as? String ?? "") ?? 0 }
    /// True when the video stream carries a display matrix.
    var hasDisplayMatrix: Bool {
        let sideData = video?["side_data_list"] as? [[String: Any]] ?? []
        return sideData.contains { ($0["side_data_type"] as? String)?.contains("Display Matrix") == true }
    }

    /// Whether the MP4's `moov` box comes before its `mdat` box (top level).
    static func moovBeforeMdat(_ file: String) throws -> Bool {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        var offset = 0
        while offset + 8 <= data.count {
            let size = data[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: data[offset + 4..<offset + 8], as: UTF8.self)
            if type == "moov" { return true }
            if type == "mdat" { return false }
            guard size >= 8 else { return false }
            offset += size
        }
        return false
    }
}
