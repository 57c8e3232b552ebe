import Testing

@testable import IngestDaemon

/// Issue 10, scenario 2: a name from a client never becomes a name on disk that starts with `.` (the stored name's
/// stem, a rejected file's name and a retried file's name replace leading dots: `StoredNameTests`,
/// `RejectedStoreTests.aNameTheWatcherIgnoresIsNotUsed`). Since the audit of December 2026 the upload's
/// `original_filename` is the name as the user gave it, leading dots included (it was `_hidden.mp4` for
/// `.hidden.mp4`).
struct UploadNameTests {
    @Test(arguments: [
        (".ingestd-tmp-a.mp4", ".ingestd-tmp-a.mp4"), ("..hidden.mov", "..hidden.mov"),
        (".upload-1.tmp", ".upload-1.tmp"),
        ("clip.mp4", "clip.mp4"), ("dir/.hidden.mp4", ".hidden.mp4"),
    ])
    func leadingDotsAreKeptInTheOriginalName(_ raw: String, _ expected: String) {
        #expect(UploadFilename.sanitize(raw) == expected)
    }

    @Test(arguments: [
        (".hidden.mp4", "mp4"), (".mp4", nil), ("..mp4", nil), ("a.b.MOV", "mov"), ("noext", nil), ("x.", nil),
    ])
    func leadingDotsStartNoExtension(_ name: String, _ ext: String?) {
        #expect(UploadFilename.fileExtension(of: name) == ext)
    }
}
