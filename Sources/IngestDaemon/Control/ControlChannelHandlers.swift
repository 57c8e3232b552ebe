import NIOCore
import NIOHTTP1

/// A handler of the control server's pipeline that watches its HTTP/1 parts go by, both ways, and passes them on
/// unchanged (it may add an answer of its own, or close the channel).
protocol ControlHTTPPartsHandler: ChannelDuplexHandler, RemovableChannelHandler {}

extension ControlHTTPPartsHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
}

/// Answers malformed HTTP with a JSON 400 (431 when the header block is too large) and closes the connection.
///
/// Replaces NIO's `HTTPServerProtocolErrorHandler`, whose answers have an empty body, so that every error the
/// control API sends has the `{"error","detail"}` shape.
final class ControlProtocolErrorHandler: ControlHTTPPartsHandler {
    private var hasUnterminatedResponse = false
    /// Set once this handler has answered a malformed request itself: the request's own handler may still answer
    /// it (an upload whose body was cut answers `incomplete_body`), and that second answer is dropped — NIO's
    /// pipeline handler refuses a second response to one request.
    private var answeredOnItsOwn = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !hasUnterminatedResponse {
            let answer: ControlAPIError
            if case .headerOverflow = parserError {
                answer = ControlAPIError(
                    status: .requestHeaderFieldsTooLarge,
                    error: "headers_too_large",
                    detail: "the request's header block is larger than the server accepts"
                )
            } else {
                answer = .badRequest("malformed_request", "the request is not valid HTTP/1.1 (\(parserError))")
            }
            let body = ControlResponse.errorBody(answer)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            headers.add(name: "Connection", value: "close")
            let head = HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers)
            answeredOnItsOwn = true
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                loopBound.value.close(promise: nil)
            }
        } else {
            context.close(promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if answeredOnItsOwn {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code < 200: break
        case .head: hasUnterminatedResponse = true
        case .body: break
        case .end: hasUnterminatedResponse = false
        }
        context.write(data, promise: promise)
    }
}

/// Gives every final answer that goes through the HTTP encoder a `Date` header (RFC 9110 §6.6.1: an origin server
/// with a clock sends one), in the IMF-fixdate form `Last-Modified` uses; informational (1xx) heads go as they are.
///
/// One place for the complete answers, the file deliveries, the head of an `/events` stream and the errors of
/// ``ControlProtocolErrorHandler`` (which sits behind it); the answers written below the codec as raw bytes get
/// theirs from ``ControlAPIError/closingResponseBytes()``.
final class ControlDateHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data), head.status.code >= 200,
            !head.headers.contains(name: "date")
        else {
            context.write(data, promise: promise)
            return
        }
        head.headers.add(name: "Date", value: HTTPDate.now())
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}

/// Closes a connection whose reads went idle (an `IdleStateHandler` read event) unless a response is being
/// produced: a long backend call or an `/events` stream never times out, a silent client does.
///
/// A client that shuts down only its sending side (half-closure is allowed) keeps its answer, an `/events` stream
/// included; one that closes altogether is seen by the event loop (`EPOLLHUP`) and the channel closes.
final class ControlIdleHandler: ControlHTTPPartsHandler {
    private var requestEnded = false
    private var responsePending = false
    private let headGuard: RequestHeadGuard

    init(headGuard: RequestHeadGuard) { self.headGuard = headGuard }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestEnded = false
            responsePending = true
            headGuard.readingHead = false
        case .body: break
        case .end:
            requestEnded = true
            headGuard.readingHead = true
            headGuard.headBytes = 0
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { responsePending = false }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // Busy: the whole request is in and its answer is still being produced.
            if !(requestEnded && responsePending) { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Bounds the bytes a request head may take before the HTTP decoder has seen all of it.
///
/// NIO's decoder limits header fields but not the request line, which it buffers whole: this raw-byte handler in
/// front of it closes a connection (after a JSON 431) whose head grows past `limit`. ``ControlIdleHandler`` tells
/// it where heads start and end. Bytes of one read that follow a completed head may be counted too, so the bound
/// is approximate (one read larger at most), which is all it needs to be.
final class RequestHeadGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var readingHead = true
    var headBytes = 0
    private let limit: Int
    private var tripped = false

    init(limit: Int) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !tripped else { return }
        let count = unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
        guard readingHead else { return }
        headBytes += count
        if headBytes > limit {
            tripped = true
            let out = ControlAPIError(
                status: .requestHeaderFieldsTooLarge,
                error: "headers_too_large",
                detail: "the request line and headers are larger than \(limit) bytes"
            ).closingResponseBytes()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }
}

/// Answers a connection beyond the server's limit with a JSON 503 and closes it, instead of hanging up without a
/// word (a client could not tell a full server from a dead one). The request is not parsed; what the client sends
/// is read and dropped until it closes (at most ``linger``), so that closing with its bytes unread does not reset
/// the connection before the answer is read. At most ``lingering`` such connections at once.
final class OverCapacityAnswer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How many refused connections may linger for their answer at once; beyond, one is closed at once (a
    /// client connecting in a loop must not run the daemon out of descriptors).
    static let lingering = 16
    /// How long a refused connection may linger.
    static let linger = TimeAmount.milliseconds(500)

    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func channelActive(context: ChannelHandlerContext) {
        let out = ControlAPIError(
            status: .serviceUnavailable,
            error: "too_many_connections",
            detail: "the control socket already serves \(limit) connections; try again shortly",
            headers: [("Retry-After", "1")]
        ).closingResponseBytes()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in
            loopBound.value.close(mode: .output, promise: nil)
        }
        context.eventLoop.scheduleTask(in: Self.linger) { loopBound.value.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension ControlAPIError {
    /// The whole HTTP/1.1 answer (status line, `Date` and the other headers, JSON body, `Connection: close`) as
    /// bytes, for the handlers that answer below the HTTP codec and then close.
    func closingResponseBytes() -> ByteBuffer {
        let body = ControlResponse.errorBody(self)
        var head = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nDate: \(HTTPDate.now())\r\n"
        head += "Content-Type: application/json\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.readableBytes)\r\nConnection: close\r\n\r\n"
        var out = ByteBuffer(string: head)
        out.writeImmutableBuffer(body)
        return out
    }
}

/// A failure to start or run the control server, with a message that names the socket and what failed.
struct ControlServerError: Error, Sendable, CustomStringConvertible, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
