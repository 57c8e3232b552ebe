import Foundation
import Testing

@testable import StorageKit

/// A file that is not the container its extension promises is refused with a detail that says what it looks
/// like (audit: text named `.mp4` said "(found a vi)", an FLV named `.mp4` "(found \x5\x0\x0\x0)").
struct ContentSnifferTests {
    static func detail(_ bytes: [UInt8], ext: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sniff-\(UUID().uuidString)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        guard case .notMedia(let detail) = ContainerCheck.check(fd: fd, size: Int64(bytes.count), ext: ext) else {
            return "accepted"
        }
        return detail
    }

    @Test func textNamedAsAVideoIsSaidToBeText() throws {
        let detail = try Self.detail(Array("Just a video, honest.\nSecond line: été\n".utf8), ext: "mp4")
        #expect(detail == "The file does not start with an MP4/MOV box. It looks like text.")
    }

    @Test func anotherContainerIsNamed() throws {
        let flv: [UInt8] = [0x46, 0x4C, 0x56, 0x01, 0x05, 0, 0, 0, 9] + [UInt8](repeating: 0, count: 40)
        #expect(try Self.detail(flv, ext: "mp4").hasSuffix("It looks like an FLV video."))
        let mkv: [UInt8] = [0x1A, 0x45, 0xDF, 0xA3] + [UInt8](repeating: 0x42, count: 40)
        #expect(try Self.detail(mkv, ext: "avi").hasSuffix("It looks like a Matroska or WebM video."))
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0, count: 40)
        #expect(try Self.detail(jpeg, ext: "mkv").hasSuffix("It looks like a JPEG image."))
        let mp4: [UInt8] = [0, 0, 0, 0x18] + Array("ftypisom".utf8) + [UInt8](repeating: 0, count: 40)
        #expect(try Self.detail(mp4, ext: "flv").hasSuffix("It looks like an MP4/MOV video."))
    }

    @Test func unknownBytesAreShownInHex() throws {
        let detail = try Self.detail([0x00, 0x01, 0x02, 0xFE, 0x80, 0x7F, 0x10, 0x05, 0x33, 0x44], ext: "mp4")
        #expect(detail == "The file does not start with an MP4/MOV box. Its first bytes are 00 01 02 fe 80 7f 10 05.")
    }

    @Test func textCutInsideACharacterIsStillText() {
        let sample = Array("ab€".utf8).dropLast()
        #expect(ContentSniffer.isText(Array(sample)))
        #expect(!ContentSniffer.isText([0x61, 0x00, 0x62]))
    }
}
