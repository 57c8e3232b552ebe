import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import IngestDaemon

/// Audit of 2026-12-08: an upload whose client half-closed mid-body was answered twice — 400 `malformed_request` by
/// this handler when the parser failed, then 400 `incomplete_body` by the upload's own handler — and NIO's pipeline
/// handler asserts on a second response (a debug build died of it).
@Suite struct ControlProtocolErrorHandlerTests {
    @Test func anAnswerWrittenAfterItsOwnErrorAnswerIsDropped() throws {
        let channel = EmbeddedChannel(handler: ControlProtocolErrorHandler())
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidEOFState)
        let later = HTTPResponseHead(version: .http1_1, status: .badRequest)
        let dropped = channel.write(HTTPServerResponsePart.head(later))
        channel.flush()
        var heads: [HTTPResponseHead] = []
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            if case .head(let head) = part { heads.append(head) }
        }
        #expect(heads.count == 1)
        #expect(heads.first?.headers["Content-Type"].first == "application/json")
        #expect(throws: (any Error).self) { try dropped.wait() }
        _ = try? channel.finish()
    }
}
