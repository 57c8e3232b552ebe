import Foundation
import NIOCore
import NIOHTTP1
import StorageKit

/// A complete (non-streaming) answer: status, headers and an optional body.
struct ControlResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: [(String, String)]
    var body: ByteBuffer?

    init(status: HTTPResponseStatus, headers: [(String, String)] = [], body: ByteBuffer? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// `value` encoded as JSON: keys in the order the value encodes them (the SPEC's order), slashes not escaped.
    static func json(_ value: any Encodable, status: HTTPResponseStatus = .ok) throws -> ControlResponse {
        // Records and events have writers of their own; everything else goes through the ordered encoder.
        let bytes: [UInt8]
        if let ordered = value as? any OrderedJSONRepresentable {
            bytes = ordered.orderedJSON
        } else {
            bytes = try OrderedJSONEncoder().encode(value)
        }
        return ControlResponse(
            status: status,
            headers: [("Content-Type", "application/json")],
            body: ByteBuffer(bytes: bytes)
        )
    }

    /// The `{"error","detail"}` answer for `error`, with its extra headers.
    static func error(_ error: ControlAPIError, close: Bool = false) -> ControlResponse {
        var headers = [("Content-Type", "application/json")] + error.headers
        if close { headers.append(("Connection", "close")) }
        return ControlResponse(status: error.status, headers: headers, body: errorBody(error))
    }

    /// Plain text with `contentType`.
    static func text(_ text: String, contentType: String) -> ControlResponse {
        ControlResponse(status: .ok, headers: [("Content-Type", contentType)], body: ByteBuffer(string: text))
    }

    /// The JSON body `{"error": …, "detail": …}`.
    static func errorBody(_ error: ControlAPIError) -> ByteBuffer {
        struct Body: Encodable {
            var error: String
            var detail: String
        }
        let bytes =
            (try? OrderedJSONEncoder().encode(Body(error: error.error, detail: error.detail))) ?? Array("{}".utf8)
        return ByteBuffer(bytes: bytes)
    }
}

/// `{"status": …}` bodies of 202 answers.
struct AcceptedBody: Encodable, Sendable {
    var status = "accepted"
    var detail: String
}
