import Foundation
import IngestConfig
import Testing

@Suite struct JSONTextTests {
    @Test("quotes, backslashes and control characters are escaped; slashes and non-ASCII stay")
    func escapes() {
        #expect(JSONText.quoted("a\"b\\c") == #""a\"b\\c""#)
        #expect(JSONText.quoted("line\nnext\r\ttab") == #""line\nnext\r\ttab""#)
        #expect(JSONText.quoted("\u{01}\u{1F}") == #""\u0001\u001f""#)
        #expect(JSONText.quoted("a/b é 🎬") == "\"a/b é 🎬\"")
    }

    @Test("every string reads back as itself", arguments: ["", "plain", "\u{0}\u{7}\u{1B}[0m", "\"\\/\n", "日本語.mp4"])
    func roundTrip(text: String) throws {
        let parsed = try JSONSerialization.jsonObject(
            with: Data(JSONText.quoted(text).utf8),
            options: .fragmentsAllowed
        )
        #expect(parsed as? String == text)
    }
}
