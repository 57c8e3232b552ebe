import Testing

@testable import IngestDaemon

/// Issue 10, scenario 2: uploaded names are sanitized as dropped ones are (never a leading dot).
struct UploadNameTests {
    @Test(arguments: [
        (".ingestd-tmp-a.mp4", "_ingestd-tmp-a.mp4"), ("..hidden.mov", "__hidden.mov"),
        (".upload-1.tmp", "_upload-1.tmp"),
        ("clip.mp4", "clip.mp4"),
    ])
    func leadingDotsAreReplaced(_ raw: String, _ expected: String) {
        #expect(UploadFilename.sanitize(raw) == expected)
    }
}
