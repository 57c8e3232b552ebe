import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// An accepted connection's async channel of HTTP parts.
typealias ControlHTTPChannel = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

/// One accepted connection and the verdict of the peer-credential check.
struct ControlConnection: Sendable {
    var channel: ControlHTTPChannel
    var peer: PeerCredentials?
    var allowed: Bool
    /// The files this connection hands to NIO as file regions.
    var files: DeliveredFiles
}

/// Serves the requests of one connection in order (keep-alive, pipelined requests answered one at a time).
struct ControlConnectionHandler: Sendable {
    let backend: any ControlBackend
    let logger: Logger
    let configuration: ControlServerConfiguration
    let threadPool: NIOThreadPool

    /// Serves `connection` until the client closes it, a request asks to close, or the task is cancelled.
    func serve(_ connection: ControlConnection) async {
        do {
            try await connection.channel.executeThenClose { inbound, outbound in
                var parts = inbound.makeAsyncIterator()
                while let part = try await parts.next() {
                    // Body parts of a request already answered early (with Connection: close) are skipped.
                    guard case .head(let head) = part else { continue }
                    guard connection.allowed else {
                        let uid = connection.peer.map { String($0.uid) } ?? "unknown"
                        let error = ControlAPIError(
                            status: .forbidden,
                            error: "forbidden",
                            detail: "uid \(uid) is not allowed on the control socket (only root, the daemon's user "
                                + "and members of CONTROL_SOCKET_GROUP are)"
                        )
                        try await send(.error(error), to: outbound, for: head, keepAlive: false)
                        return
                    }
                    let keepOpen = try await handle(
                        head,
                        parts: &parts,
                        outbound: outbound,
                        channel: connection.channel.channel,
                        files: connection.files
                    )
                    if !keepOpen || !head.isKeepAlive {
                        // A file still being sent would be cut off by the close that follows.
                        await connection.files.waitUntilSent()
                        return
                    }
                }
            }
        } catch {
            logger.debug("control connection ended: \(error)")
        }
    }

    /// Answers one request whose head is `head`; returns whether the connection may serve another request.
    private func handle(
        _ head: HTTPRequestHead,
        parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        channel: any Channel,
        files: DeliveredFiles
    ) async throws -> Bool {
        let target: ControlRequestTarget
        do {
            target = try ControlRouter.resolve(method: head.method, uri: head.uri)
        } catch {
            // A body we did not read makes the connection unusable: answer and close.
            let close = Self.hasBody(head)
            try await send(.error(error, close: close), to: outbound, for: head, keepAlive: !close)
            return !close
        }
        switch target.route {
        case .uploadVideo(let project):
            return try await upload(project: project, target: target, head: head, parts: &parts, outbound: outbound)
        case .events:
            guard try await readBody(head, parts: &parts, outbound: outbound) != nil else { return false }
            return try await streamEvents(target: target, head: head, outbound: outbound, channel: channel)
        case .assetFile(let project, let id, let item):
            guard try await readBody(head, parts: &parts, outbound: outbound) != nil else { return false }
            try await deliver(project: project, id: id, item: item, head: head, outbound: outbound, files: files)
            return true
        default:
            guard let body = try await readBody(head, parts: &parts, outbound: outbound) else { return false }
            let response: ControlResponse
            do {
                response = try await respond(to: target, body: body)
            } catch {
                let apiError = ControlAPIError(mapping: error)
                if apiError.status.code >= 500 {
                    logger.error("control \(head.method.rawValue) \(head.uri) failed: \(error)")
                }
                response = .error(apiError)
            }
            try await send(response, to: outbound, for: head, keepAlive: true)
            return true
        }
    }

    /// Calls the backend for a route with a complete answer; `body` is the request's (small) body.
    private func respond(to target: ControlRequestTarget, body: [UInt8]) async throws -> ControlResponse {
        switch target.route {
        case .health:
            return try .json(await backend.health())
        case .projects:
            return try .json(await backend.projects())
        case .storageStats:
            return try .json(await backend.storageStats(project: nil))
        case .projectStorageStats(let project):
            return try .json(await backend.storageStats(project: project))
        case .listVideos(let project):
            let limit = try target.query.limit(max: ControlRouter.maxPageSize)
            var after: String? = nil
            if let raw = target.query["after"] { after = try ControlRouter.assetID(raw) }
            return try .json(await backend.listAssets(project: project, limit: limit, after: after))
        case .getVideo(let project, let id):
            guard let asset = try await backend.asset(project: project, id: id) else {
                throw ControlAPIError.notFound("no asset \(id) in project \(project)")
            }
            return try .json(asset)
        case .deleteVideo(let project, let id):
            guard try await backend.deleteAsset(project: project, id: id) else {
                throw ControlAPIError.notFound("no asset \(id) in project \(project)")
            }
            return ControlResponse(status: .noContent)
        case .purgeProject(let project):
            return try .json(await backend.purgeProject(project))
        case .rescan:
            await backend.rescan()
            return try .json(AcceptedBody(detail: "the drop directory will be scanned again"), status: .accepted)
        case .repair:
            let dryRun = try target.query.dryRun() || RepairRequestBody.dryRun(body)
            return try .json(await backend.repair(dryRun: dryRun))
        case .rejected(let project):
            return try .json(await backend.rejected(project: project))
        case .retryRejected(let project, let name):
            guard try await backend.retryRejected(project: project, name: name) else {
                throw ControlAPIError.notFound("no rejected file \(String(reflecting: name)) in project \(project)")
            }
            return try .json(
                AcceptedBody(detail: "\(name) goes back through the pipeline"),
                status: .accepted
            )
        case .metrics:
            return .text(await backend.metrics(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        case .uploadVideo, .events, .assetFile:
            preconditionFailure("streaming routes are answered by their own handlers")
        }
    }

    // MARK: - Upload

    /// `POST /projects/{id}/videos`: stages the body, hands it to the backend, answers 201 with the record.
    private func upload(
        project: ProjectID,
        target: ControlRequestTarget,
        head: HTTPRequestHead,
        parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws -> Bool {
        let limits = await backend.uploadLimits
        let receiver = UploadReceiver(limits: limits, threadPool: threadPool, configuration: configuration)
        let staged: StagedUpload
        do {
            staged = try await receiver.receive(project: project, head: head, query: target.query, parts: &parts) {
                try await outbound.write(.head(HTTPResponseHead(version: head.version, status: .continue)))
            }
        } catch {
            let apiError = ControlAPIError(mapping: error)
            logger.notice("control upload to \(project) refused: \(apiError)")
            // The body may be partly unread: answer, read on what the client is still sending (so that it is not
            // cut off by a broken pipe before it reads the answer), then close.
            try await send(.error(apiError, close: true), to: outbound, for: head, keepAlive: false)
            await Self.discardRest(of: &parts, upTo: Self.lingerBytes)
            return false
        }
        let response: ControlResponse
        do {
            let outcome = try await backend.ingestUpload(
                project: project,
                originalFilename: staged.originalFilename,
                stagedFile: staged.path,
                size: staged.size,
                sha256: staged.sha256
            )
            switch outcome {
            case .stored(let asset):
                var r = try ControlResponse.json(asset, status: .created)
                r.headers.append(("Location", "/projects/\(project)/videos/\(asset.id)"))
                response = r
            case .rejected(let rejection):
                response = .error(
                    ControlAPIError(
                        status: UploadOutcome.status(forRejection: rejection.reason),
                        error: rejection.reason.rawValue,
                        detail: rejection.detail
                    )
                )
            }
        } catch {
            let apiError = ControlAPIError(mapping: error)
            if apiError.status.code >= 500 { logger.error("control upload to \(project) failed: \(error)") }
            response = .error(apiError)
        }
        StagingFile.unlinkIfPresent(staged.path)
        try await send(response, to: outbound, for: head, keepAlive: true)
        return true
    }

    // MARK: - Events

    /// `GET /events`: NDJSON, chunked, one flush per event, until the stream ends or the client goes away.
    private func streamEvents(
        target: ControlRequestTarget,
        head: HTTPRequestHead,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        channel: any Channel
    ) async throws -> Bool {
        let stream: AsyncStream<[UInt8]>
        do {
            stream = try await backend.events(since: try target.query.since())
        } catch {
            try await send(.error(ControlAPIError(mapping: error)), to: outbound, for: head, keepAlive: true)
            return true
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-ndjson")
        headers.add(name: "Cache-Control", value: "no-cache")
        headers.add(name: "Connection", value: "close")
        let responseHead = HTTPResponseHead(version: head.version, status: .ok, headers: headers)
        if head.method == .HEAD {
            try await outbound.write(contentsOf: [.head(responseHead), .end(nil)])
            return false
        }
        try await outbound.write(.head(responseHead))

        // The peer's close is noticed through closeFuture; an AsyncStream makes that wait cancellable.
        let (closed, closedContinuation) = AsyncStream<Void>.makeStream()
        channel.closeFuture.whenComplete { _ in closedContinuation.finish() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for await line in stream {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: line))))
                    }
                } catch {
                    // The client went away while we wrote: the subscription ends with this task.
                }
            }
            group.addTask {
                for await _ in closed {}
            }
            await group.next()
            group.cancelAll()
        }
        try? await outbound.write(.end(nil))
        return false
    }

    // MARK: - Helpers

    /// Most bytes of a refused upload read and thrown away before the connection closes.
    static let lingerBytes = 16 << 20

    /// Reads and throws away the rest of a request's body, at most `limit` bytes (the idle timeout ends a
    /// client that stops sending).
    static func discardRest(
        of parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        upTo limit: Int
    ) async {
        var seen = 0
        while seen <= limit, let part = try? await parts.next() {
            guard case .body(let buffer) = part else { return }
            seen += buffer.readableBytes
        }
    }

    /// Reads a small request body; answers 413 and returns nil when it is too large.
    private func readBody(
        _ head: HTTPRequestHead,
        parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws -> [UInt8]? {
        var body: [UInt8] = []
        let tooLarge = ControlAPIError(
            status: .payloadTooLarge,
            error: "body_too_large",
            detail: "this endpoint takes no request body larger than \(configuration.maxRequestBodyBytes) bytes"
        )
        if let length = head.headers.first(name: "content-length").flatMap(Int.init),
            length > configuration.maxRequestBodyBytes
        {
            try await send(.error(tooLarge, close: true), to: outbound, for: head, keepAlive: false)
            return nil
        }
        while let part = try await parts.next() {
            switch part {
            case .head: return nil  // cannot happen: the decoder ends a request before the next head
            case .body(let buffer):
                guard body.count + buffer.readableBytes <= configuration.maxRequestBodyBytes else {
                    try await send(.error(tooLarge, close: true), to: outbound, for: head, keepAlive: false)
                    return nil
                }
                body += buffer.readableBytesView
            case .end: return body
            }
        }
        return nil
    }

    /// Whether the request announces a body (a non-zero Content-Length or any Transfer-Encoding).
    static func hasBody(_ head: HTTPRequestHead) -> Bool {
        if head.headers.contains(name: "transfer-encoding") { return true }
        if let length = head.headers.first(name: "content-length"), length != "0" { return true }
        return false
    }

    /// Writes `response` as head, body and end in one flush (no body for `HEAD`, with the same headers).
    func send(
        _ response: ControlResponse,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        for request: HTTPRequestHead,
        keepAlive: Bool
    ) async throws {
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if response.status != .noContent && response.status != .notModified {
            headers.replaceOrAdd(name: "Content-Length", value: String(response.body?.readableBytes ?? 0))
        }
        let head = responseHead(response.status, headers: headers, for: request, keepAlive: keepAlive)
        if let body = response.body, body.readableBytes > 0, request.method != .HEAD {
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(body)), .end(nil)])
        } else {
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
        }
    }

    /// The head of an answer to `request`, with `Connection` set for keep-alive or close.
    func responseHead(
        _ status: HTTPResponseStatus,
        headers: HTTPHeaders,
        for request: HTTPRequestHead,
        keepAlive: Bool
    ) -> HTTPResponseHead {
        var headers = headers
        if !keepAlive || !request.isKeepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if request.version == .http1_0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        return HTTPResponseHead(version: request.version, status: status, headers: headers)
    }
}
