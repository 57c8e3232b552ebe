import NIOCore
import NIOHTTP1
import StorageKit

/// `GET`/`HEAD /projects/{id}/videos/{asset_id}/content|thumbnail|renditions/{name}|sprite.jpg|sprite.vtt`.
///
/// The file is the one the asset's record names (``Deliverable``), opened without following links
/// (``StoredFile``), and sent with `sendfile` through a NIO `FileRegion`: no byte of it passes through user space,
/// so memory stays flat whatever its size. Headers: `Content-Type`, `Content-Length`, `Accept-Ranges: bytes`,
/// `ETag` (the upload's checksum for `content`, ``StoredFile/derivedETag`` for derived files), `Last-Modified`
/// (the file's mtime), `Content-Range` on 206 and 416, and for `content` a `Content-Disposition` with the
/// original file name. ``DeliveryPlan`` says which status answers; a 412 (a false `If-Match` or
/// `If-Unmodified-Since`) is the JSON error with the validators.
extension ControlConnectionHandler {
    func deliver(
        project: ProjectID,
        id: String,
        item: AssetFileItem,
        head: HTTPRequestHead,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        files: DeliveredFiles
    ) async throws {
        let deliverable: Deliverable
        let file: StoredFile
        do {
            deliverable = try await backend.deliverable(project: project, id: id, item: item)
            file = try await open(deliverable)
        } catch {
            let apiError = ControlAPIError(mapping: error)
            if apiError.status.code >= 500 {
                logger.error("control \(head.method.rawValue) \(head.uri) failed: \(error)")
            }
            try await send(.error(apiError), to: outbound, for: head, keepAlive: true)
            return
        }
        let etag: String
        if let checksum = deliverable.checksum, deliverable.recordedSize == file.size {
            etag = "\"\(checksum)\""
        } else {
            etag = file.derivedETag
        }
        let validators = DeliveryPlan.Validators(etag: etag, lastModified: file.mtimeSeconds)
        var headers = HTTPHeaders()
        headers.add(name: "Accept-Ranges", value: "bytes")
        headers.add(name: "ETag", value: etag)
        headers.add(name: "Last-Modified", value: HTTPDate.format(file.mtimeSeconds))

        let first: Int64
        let last: Int64
        let status: HTTPResponseStatus
        switch DeliveryPlan.decide(headers: head.headers, size: file.size, validators: validators) {
        case .notModified:
            file.close()
            let response = ControlResponse(status: .notModified, headers: headers.map { ($0.name, $0.value) })
            try await send(response, to: outbound, for: head, keepAlive: true)
            return
        case .unsatisfiable:
            file.close()
            var error = ControlAPIError(
                status: .rangeNotSatisfiable,
                error: "range_not_satisfiable",
                detail: "the requested range is outside the \(deliverable.description) (\(file.size) bytes)"
            )
            error.headers = headers.map { ($0.name, $0.value) } + [("Content-Range", "bytes */\(file.size)")]
            try await send(.error(error), to: outbound, for: head, keepAlive: true)
            return
        case .preconditionFailed(let precondition):
            file.close()
            let detail: String
            switch precondition {
            case .ifMatch:
                detail = "If-Match lists no tag of the \(deliverable.description), whose ETag is \(etag)"
            case .ifUnmodifiedSince:
                detail =
                    "the \(deliverable.description) was modified (\(HTTPDate.format(file.mtimeSeconds))) after "
                    + "If-Unmodified-Since"
            }
            var error = ControlAPIError(status: .preconditionFailed, error: "precondition_failed", detail: detail)
            error.headers = headers.map { ($0.name, $0.value) }
            try await send(.error(error), to: outbound, for: head, keepAlive: true)
            return
        case .whole:
            first = 0
            last = file.size - 1
            status = .ok
        case .partial(let a, let b):
            first = a
            last = b
            status = .partialContent
            headers.add(name: "Content-Range", value: "bytes \(a)-\(b)/\(file.size)")
        }
        let length = last - first + 1
        headers.add(name: "Content-Type", value: deliverable.contentType)
        headers.add(name: "Content-Length", value: String(length))
        if let name = deliverable.downloadName {
            headers.add(name: "Content-Disposition", value: ContentDisposition.inline(filename: name))
        }
        let answer = responseHead(status, headers: headers, for: head, keepAlive: true)
        guard head.method != .HEAD, length > 0 else {
            file.close()
            try await outbound.write(contentsOf: [.head(answer), .end(nil)])
            return
        }
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: file.fd)
        files.add(handle)
        let region = FileRegion(fileHandle: handle, readerIndex: Int(first), endIndex: Int(last) + 1)
        try await outbound.write(contentsOf: [.head(answer), .body(.fileRegion(region))])
        // Written apart: it waits until the channel drains, so the idle timer sees the answer as busy until then.
        try await outbound.write(.end(nil))
    }

    /// Opens the file on the thread pool (storage may be a network filesystem); missing → 404.
    private func open(_ deliverable: Deliverable) async throws -> StoredFile {
        do {
            return try await threadPool.runIfActive {
                try StoredFile.open(root: deliverable.root, relative: deliverable.relativePath)
            }
        } catch let failure as StoredFile.Failure {
            switch failure {
            case .absent:
                logger.warning(
                    "the record names a file that is not in storage (repair reports it)",
                    metadata: ["file": "\(deliverable.relativePath)"]
                )
                throw ControlAPIError.notFound("the \(deliverable.description) is not in storage")
            case .failed(let why):
                throw ControlAPIError(
                    status: .internalServerError,
                    error: "unreadable",
                    detail: "cannot open the \(deliverable.description): \(why)"
                )
            }
        }
    }
}

/// `Content-Disposition` values (RFC 6266).
enum ContentDisposition {
    /// `inline; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded name>`.
    static func inline(filename: String) -> String {
        var ascii = ""
        for scalar in filename.unicodeScalars {
            switch scalar.value {
            case 0x20...0x7E where scalar != "\"" && scalar != "\\" && scalar != "%":
                ascii.unicodeScalars.append(scalar)
            default: ascii.append("_")
            }
        }
        let hex = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        for b in filename.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
                encoded.append(b)
            default:
                encoded += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return "inline; filename=\"\(ascii)\"; filename*=UTF-8''\(String(decoding: encoded, as: UTF8.self))"
    }
}
