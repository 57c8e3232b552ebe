import Foundation
import TestSupport

/// What the `ffprobe` CLI says of a file, for comparing the in-process probe against the reference tool.
struct FFprobeFacts {
    var formatName: String
    var formatTags: [String: String]
    /// The first video stream that is not an attached picture.
    var video: [String: Any]?
    /// The first audio stream.
    var audio: [String: Any]?

    init(_ path: String) async throws {
        let data = Data(
            try await HelperPrograms.run(
                "/usr/bin/ffprobe",
                ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path]
            ).stdout
        )
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let format = root["format"] as? [String: Any] ?? [:]
        formatName = format["format_name"] as? String ?? ""
        formatTags = format["tags"] as? [String: String] ?? [:]
        let streams = root["streams"] as? [[String: Any]] ?? []
        video = streams.first { stream in
            let attached = ((stream["disposition"] as? [String: Any])?["attached_pic"] as? Int) ?? 0
            return stream["codec_type"] as? String == "video" && attached == 0
        }
        audio = streams.first { $0["codec_type"] as? String == "audio" }
    }

    func videoString(_ key: String) -> String? { video?[key] as? String }
    func videoInt(_ key: String) -> Int? { video?[key] as? Int }
    func audioString(_ key: String) -> String? { audio?[key] as? String }

    /// The audio sample rate (ffprobe writes it as a string).
    var sampleRate: Int? { (audio?["sample_rate"] as? String).flatMap { Int($0) } }
    var channels: Int? { audio?["channels"] as? Int }

    /// Decodes a JPEG (or any picture) to packed RGB with the ffmpeg CLI.
    static func rgb(
        ofPicture bytes: [UInt8],
        in directory: String
    ) async throws -> (pixels: [UInt8], width: Int, height: Int) {
        let file = directory + "/picture-\(UUID().uuidString).jpg"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let pixels = try await ClipFactory.ffmpeg(["-i", file, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        let size = try await ClipFactory.probeSize(file)
        return ([UInt8](pixels), size.width, size.height)
    }
}
