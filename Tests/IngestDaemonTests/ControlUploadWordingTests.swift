import Foundation
import StorageKit
import SystemPackage
import Testing

@testable import IngestDaemon

/// Audit findings on uploads: error details name the upload as the user named it and never an internal path; a
/// `?filename=` whose escapes decode to bytes that are not UTF-8 is a name like any other; client paths are cut at
/// their last `/` or `\` the same way in a query and in a multipart part.
@Suite("Control upload wording", .serialized, .timeLimit(.minutes(3)))
struct ControlUploadWordingTests {
    @Test func aFullStorageFilesystemIsNamedInWordsWithoutAPath() async throws {
        let t = try await TestServer.start(configure: { $0.stagingWriteFault = .noSpace })
        defer { Task { await t.stop() } }
        let r = try await fetch(t.socket, "POST", "/projects/p/videos?filename=clip.mp4", body: [1, 2, 3])
        #expect(r.status == 507)
        #expect(r.object["error"] as? String == "staging_failed")
        let detail = try #require(r.object["detail"] as? String)
        #expect(detail.contains("clip.mp4") && detail.contains("project p"), "\(detail)")
        #expect(detail.contains("no space is left on the storage filesystem"), "\(detail)")
        #expect(!detail.contains("/") && !detail.contains(".staging") && !detail.contains(".upload-"), "\(detail)")
        #expect(t.stagedFiles().isEmpty)
    }

    @Test func aStagingFolderThatCannotBeMadeIsNamedInWordsWithoutAPath() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        // A file where the staging folder belongs: root in tests ignores permission bits, not file types.
        #expect(FileManager.default.createFile(atPath: t.dir.path + "/staging", contents: Data("x".utf8)))
        for (target, body, headers) in [
            ("/projects/p/videos?filename=clip.mp4", [UInt8]([1, 2, 3]), [String: String]()),
            ("/projects/p/videos", Self.multipart(filename: "clip.mp4"), Self.multipartHeaders),
        ] {
            let r = try await fetch(t.socket, "POST", target, body: body, headers: headers)
            #expect(r.status == 500)
            #expect(r.object["error"] as? String == "staging_failed")
            let detail = try #require(r.object["detail"] as? String)
            #expect(detail.contains("clip.mp4") && detail.contains("project p"), "\(detail)")
            #expect(detail.contains("the storage cannot be written"), "\(detail)")
            #expect(!detail.contains(t.dir.path) && !detail.contains("staging"), "\(detail)")
        }
    }

    /// The backend's errors (a delete whose files stayed, a retry that cannot move a file) become answers that
    /// give the cause, never the storage error's paths.
    @Test func storageErrorsOfTheBackendAreAnsweredWithoutTheirPaths() {
        let io = StorageError(
            code: .io,
            message: "rename /srv/storage/uploads/project_p/clip-1a2b3c4d5e.mp4: Input/output error",
            errno: EIO
        )
        let answer = ControlAPIError(mapping: io)
        #expect(answer.status == .internalServerError)
        #expect(!answer.detail.contains("/srv"), "\(answer.detail)")
        #expect(answer.detail == String(cString: strerror(EIO)), "\(answer.detail)")
        #expect(answer.cause?.contains("/srv/storage/uploads") == true, "the log keeps the paths")
    }

    @Test func aFilenameQueryWhoseEscapesAreNotUTF8IsAccepted() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let r = try await fetch(t.socket, "POST", "/projects/p/videos?filename=bad%FF%FE.mp4", body: [1, 2, 3])
        #expect(r.status == 201, "\(r.object)")
        let upload = try #require(t.backend.uploads.withLock { $0.first })
        // As the daemon shows every name that is not UTF-8 (a dropped file's, a multipart part's): U+FFFD.
        #expect(upload.originalFilename == "bad\u{FFFD}\u{FFFD}.mp4")
        for malformed in ["bad%G1.mp4", "bad.mp4%F", "bad%.mp4"] {
            let refused = try await fetch(t.socket, "POST", "/projects/p/videos?filename=\(malformed)", body: [1])
            #expect(refused.status == 400 && refused.object["error"] as? String == "bad_query", "\(malformed)")
        }
        // Other keys stay strict.
        let limit = try await fetch(t.socket, "GET", "/projects/p/videos?limit=%FF")
        #expect(limit.status == 400 && limit.object["error"] as? String == "bad_query")
    }

    /// Browsers send a Windows path's backslashes as they are (`C:\Users\bob\win.mp4`); the name is what follows
    /// the last `\` or `/`, in a multipart part as in `?filename=`. A `\` before `"` or `\` is a quoted-pair.
    @Test(arguments: [
        (#"C:\Users\bob\win.mp4"#, "win.mp4"), (#"a\\b.mp4"#, "b.mp4"), ("dir/sub/c.mp4", "c.mp4"),
        (#"say \"hi\".mp4"#, #"say "hi".mp4"#),
    ])
    func multipartNamesTakeTheLastComponentOfAWindowsPath(_ sent: String, _ expected: String) async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let r = try await fetch(
            t.socket,
            "POST",
            "/projects/p/videos",
            body: Self.multipart(filename: sent),
            headers: Self.multipartHeaders
        )
        #expect(r.status == 201)
        #expect(t.backend.uploads.withLock { $0.first?.originalFilename } == expected)
        let query = try await fetch(t.socket, "POST", "/projects/p/videos?filename=a%5Cb.mp4", body: [1])
        #expect(query.status == 201)
        #expect(t.backend.uploads.withLock { $0.last?.originalFilename } == "b.mp4")
    }

    /// `original_filename` is the name the user gave, a leading dot included; only names made of it on disk
    /// (the stored name's stem) never start with `.`.
    @Test func aLeadingDotStaysInTheOriginalName() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let r = try await fetch(t.socket, "POST", "/projects/p/videos?filename=.hidden.mp4", body: [1, 2, 3])
        #expect(r.status == 201)
        #expect(t.backend.uploads.withLock { $0.first?.originalFilename } == ".hidden.mp4")
        let dots = try await fetch(t.socket, "POST", "/projects/p/videos?filename=.mp4", body: [1])
        #expect(
            dots.status == 415 && (dots.object["detail"] as? String)?.hasPrefix("\".mp4\" has no extension") == true
        )
    }

    static let boundary = "----wordingBoundary"
    static let multipartHeaders = ["Content-Type": "multipart/form-data; boundary=\(boundary)"]

    /// A multipart body with one file part whose `filename=` quoted-string is `filename` as it is.
    static func multipart(filename: String) -> [UInt8] {
        Array(
            ("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\n\r\n"
                + "abc\r\n--\(boundary)--\r\n").utf8
        )
    }
}
