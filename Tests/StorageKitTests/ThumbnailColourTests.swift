import Testing

@testable import StorageKit

/// JPEG decoders read YCbCr with the BT.601 matrix: a BT.709 video's colours must be converted, not copied.
@Suite("Thumbnail colours")
struct ThumbnailColourTests {
    @Test("a flat BT.709 colour comes back as itself", arguments: ["bt709", "smpte170m"])
    func flatColour(matrix: String) async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await clips.make(
            "flat-\(matrix).mp4",
            video: "color=c=0xC03020:size=320x180:rate=25:duration=1",
            options: [
                "-vf", "scale=out_color_matrix=\(matrix == "bt709" ? "bt709" : "bt601"):out_range=tv,format=yuv420p",
                "-c:v", "libx264", "-preset", "ultrafast", "-colorspace", matrix,
            ]
        )
        let thumbnail = try ThumbnailRenderer(width: 320, decoderThreads: 1).render(path: path)
        let picture = try await FFprobeFacts.rgb(ofPicture: thumbnail.jpeg, in: clips.directory.path)
        let centre = (picture.height / 2 * picture.width + picture.width / 2) * 3
        let (r, g, b) = (Int(picture.pixels[centre]), Int(picture.pixels[centre + 1]), Int(picture.pixels[centre + 2]))
        #expect(abs(r - 192) <= 6 && abs(g - 48) <= 6 && abs(b - 32) <= 6, "\(matrix): got (\(r), \(g), \(b))")
    }
}
