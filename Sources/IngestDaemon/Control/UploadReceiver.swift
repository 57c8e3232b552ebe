import Crypto
import NIOCore
import NIOHTTP1
import NIOPosix
import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// A request body fully written to the staging directory.
struct StagedUpload: Sendable, Equatable {
    /// Absolute or staging-relative path of the staged file.
    var path: String
    /// The client's file name reduced to one safe path component.
    var originalFilename: String
    var size: Int64
    /// SHA-256 of the staged bytes, 64 lower-case hex digits.
    var sha256: String
}

/// Streams an upload body (raw, or the one file part of `multipart/form-data`) to a new staging file while hashing
/// it, without holding it in memory.
///
/// Checks before reading the body: the file name (400 when missing), its extension (415), and Content-Length
/// against `UPLOAD_MAX_SIZE` (413). While reading: the running size (413). Reading is paced by the writes: at most
/// ``ControlServerConfiguration/uploadFlushBytes`` are buffered before they are written and hashed on the thread
/// pool, and the channel is not read meanwhile (NIOAsyncChannel's back-pressure). On any failure the staged file
/// is unlinked.
struct UploadReceiver {
    let limits: UploadLimits
    let threadPool: NIOThreadPool
    let configuration: ControlServerConfiguration

    /// Bytes a multipart envelope (boundaries and part headers) may add to Content-Length beyond `maxSize`.
    static let multipartAllowance: Int64 = 64 * 1024

    /// Receives the body of an upload to `project` that follows `head`. `sendContinue` answers
    /// `Expect: 100-continue` once the checks that need no body have passed.
    func receive(
        project: ProjectID,
        head: HTTPRequestHead,
        query: ControlQuery,
        parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        sendContinue: () async throws -> Void
    ) async throws -> StagedUpload {
        let contentType = head.headers.first(name: "content-type") ?? "application/octet-stream"
        let boundary = try Self.multipartBoundary(contentType)
        let declared: Int64?
        if let raw = head.headers.first(name: "content-length") {
            guard let n = Int64(raw), n >= 0 else {
                throw ControlAPIError.badRequest(
                    "bad_content_length",
                    "Content-Length \(String(reflecting: raw)) is not a size"
                )
            }
            declared = n
        } else {
            declared = nil
        }
        let allowance = boundary == nil ? 0 : Self.multipartAllowance
        if let declared, declared > limits.maxSize + allowance {
            throw tooLarge("the upload's Content-Length of \(declared) bytes")
        }
        var filename: String? = nil
        // The name as the client gave it, for error details (a sanitized `..mp4` reads `__mp4`).
        var givenName: String? = nil
        if let raw = query["filename"] {
            givenName = raw
            guard let name = UploadFilename.sanitize(raw) else {
                throw ControlAPIError.badRequest(
                    "bad_filename",
                    "filename \(String(reflecting: raw)) has no usable name"
                )
            }
            filename = name
        }
        if boundary == nil {
            guard let name = filename else {
                throw ControlAPIError.badRequest(
                    "missing_filename",
                    "a raw upload needs the file name in ?filename=…, or send multipart/form-data"
                )
            }
            try checkExtension(name, given: givenName ?? name)
        }
        try checkFreeSpace(for: declared ?? 0)
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" { try await sendContinue() }

        var sink: StagingFile? = nil
        do {
            if let boundary {
                var parser = MultipartStreamParser(boundary: boundary)
                var inFilePart = false
                var sawFile = false
                var otherPartBytes = 0
                func handle(_ events: [MultipartStreamParser.Event]) async throws {
                    for event in events {
                        switch event {
                        case .partBegin(let headers):
                            if let name = MultipartStreamParser.filename(fromPartHeaders: headers) {
                                guard !sawFile else {
                                    throw ControlAPIError.badRequest(
                                        "malformed_multipart",
                                        "the upload has more than one file part"
                                    )
                                }
                                guard let clean = UploadFilename.sanitize(name) ?? filename else {
                                    throw ControlAPIError.badRequest(
                                        "bad_filename",
                                        "file part name \(String(reflecting: name)) has no usable name"
                                    )
                                }
                                try checkExtension(clean, given: name)
                                filename = clean
                                sink = try StagingFile.create(
                                    in: limits.stagingDirectory,
                                    upload: "\(String(reflecting: clean)) to project \(project)",
                                    threadPool: threadPool,
                                    flushBytes: configuration.uploadFlushBytes,
                                    writeFault: configuration.stagingWriteFault
                                )
                                inFilePart = true
                                sawFile = true
                            } else {
                                inFilePart = false
                            }
                        case .partData(let buffer):
                            if inFilePart {
                                try await append(buffer, to: sink!)
                            } else {
                                otherPartBytes += buffer.readableBytes
                                if otherPartBytes > configuration.maxRequestBodyBytes {
                                    throw ControlAPIError.badRequest(
                                        "malformed_multipart",
                                        "non-file parts are larger than \(configuration.maxRequestBodyBytes) bytes"
                                    )
                                }
                            }
                        case .partEnd:
                            inFilePart = false
                        }
                    }
                }
                try await Self.readBody(&parts) { buffer in try await handle(try parser.feed(buffer)) }
                try parser.finish()
                guard sawFile, let sink, let filename else {
                    throw ControlAPIError.badRequest(
                        "missing_file_part",
                        "the multipart body has no part with a filename"
                    )
                }
                let (size, digest) = try await sink.finish()
                return StagedUpload(path: sink.path, originalFilename: filename, size: size, sha256: digest)
            } else {
                let file = try StagingFile.create(
                    in: limits.stagingDirectory,
                    upload: "\(String(reflecting: filename!)) to project \(project)",
                    threadPool: threadPool,
                    flushBytes: configuration.uploadFlushBytes,
                    writeFault: configuration.stagingWriteFault
                )
                sink = file
                try await Self.readBody(&parts) { buffer in try await append(buffer, to: file) }
                let (size, digest) = try await file.finish()
                return StagedUpload(path: file.path, originalFilename: filename!, size: size, sha256: digest)
            }
        } catch {
            sink?.abort()
            throw error
        }
    }

    /// Hands each piece of the request's body to `consume` until the body ends; throws ``incomplete`` when the
    /// connection ends first, and a 400 when a request head arrives inside the body.
    private static func readBody(
        _ parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        _ consume: (ByteBuffer) async throws -> Void
    ) async throws {
        while let part = try await parts.next() {
            switch part {
            case .head:
                throw ControlAPIError.badRequest("malformed_request", "a request head arrived inside a body")
            case .body(let buffer): try await consume(buffer)
            case .end: return
            }
        }
        throw incomplete
    }

    /// The connection ended (client gone, or the server stopping) before the body was complete.
    static let incomplete = ControlAPIError.badRequest(
        "incomplete_body",
        "the connection ended before the upload's body was complete; nothing was stored"
    )

    private func append(_ buffer: ByteBuffer, to file: StagingFile) async throws {
        if file.size + Int64(buffer.readableBytes) > limits.maxSize {
            throw tooLarge("the upload's body (more than \(limits.maxSize) bytes so far)")
        }
        try await file.append(buffer)
    }

    /// Refuses (507) an upload that would leave less than `MIN_FREE_BYTES` free on the storage filesystem, as
    /// dropped files wait in the drop then.
    private func checkFreeSpace(for bytes: Int64) throws {
        guard limits.minFreeBytes > 0, let free = FileOps.availableBytes(limits.stagingDirectory) else { return }
        let (left, overflow) = free.subtractingReportingOverflow(bytes)
        guard overflow || left < limits.minFreeBytes else { return }
        throw ControlAPIError(
            status: .insufficientStorage,
            error: "storage_full",
            detail: "only \(free) bytes are free on the storage filesystem (MIN_FREE_BYTES=\(limits.minFreeBytes)); "
                + "nothing was stored, try again once space is freed"
        )
    }

    /// Refuses (415) a file whose sanitized `name` has an extension not allowed; the detail speaks of the name
    /// as `given`.
    private func checkExtension(_ name: String, given: String) throws {
        guard limits.allows(filename: name) else {
            let ext = UploadFilename.fileExtension(of: name).map { ".\($0)" } ?? "no extension"
            let made = name == given ? "" : " once made a safe file name"
            throw ControlAPIError(
                status: .unsupportedMediaType,
                error: RejectionReason.extensionNotAllowed.rawValue,
                detail: "\(String(reflecting: given)) has \(ext)\(made); allowed: "
                    + limits.allowedExtensions.joined(separator: ", ")
            )
        }
    }

    private func tooLarge(_ what: String) -> ControlAPIError {
        ControlAPIError(
            status: .payloadTooLarge,
            error: RejectionReason.tooLarge.rawValue,
            detail: "\(what) exceeds UPLOAD_MAX_SIZE (\(limits.maxSize) bytes)"
        )
    }

    /// The boundary of a `multipart/form-data` content type; `nil` for any other type (a raw body).
    static func multipartBoundary(_ contentType: String) throws(ControlAPIError) -> String? {
        let params = contentType.split(separator: ";").map { $0.trimmingSpaces() }
        guard let type = params.first, type.lowercased() == "multipart/form-data" else { return nil }
        for p in params.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingSpaces().lowercased() == "boundary" else { continue }
            var value = kv[1].trimmingSpaces()
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            guard (1...70).contains(value.utf8.count) else { break }
            return value
        }
        throw ControlAPIError.badRequest(
            "malformed_multipart",
            "multipart/form-data without a valid boundary parameter"
        )
    }
}

/// Client file names made safe to pass on: the last path component, without NUL or control characters.
enum UploadFilename {
    /// Reduces `raw` to its last component after `/` or `\`, drops control characters and trims spaces; `nil` when
    /// nothing usable (empty, `.`, `..`) is left. Cut to 255 bytes, keeping the extension. A leading dot stays: this
    /// is the `original_filename`, the name the user gave; the names made of it on disk never start with `.` (the
    /// stored name's stem, a rejected file's name, a retried file's name in the drop).
    static func sanitize(_ raw: String) -> String? {
        let last = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var kept = String.UnicodeScalarView()
        for s in last.unicodeScalars where s.value >= 0x20 && s.value != 0x7F { kept.append(s) }
        var name = String(kept).trimmingSpaces()
        guard !name.isEmpty, name != ".", name != ".." else { return nil }
        if name.utf8.count > 255 {
            let ext = fileExtension(of: name).map { "." + $0 } ?? ""
            var stem = String(name.dropLast(ext.count))
            while stem.utf8.count + ext.utf8.count > 255 { stem.removeLast() }
            name = stem + ext
        }
        return name
    }

    /// The lower-cased extension after the last dot, if there is one; leading dots start none (`.mp4` and `..mp4`
    /// have no extension, `.hidden.mp4` has `mp4`).
    static func fileExtension(of name: String) -> String? {
        let afterLeadingDots = name.drop { $0 == "." }
        guard let dot = afterLeadingDots.lastIndex(of: ".") else { return nil }
        let ext = name[name.index(after: dot)...]
        return ext.isEmpty ? nil : ext.lowercased()
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
