import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// An incremental `multipart/form-data` parser (RFC 7578 / RFC 2046) that never holds a part's content: data is
/// passed on as it arrives, keeping back only the bytes that could start a boundary.
struct MultipartStreamParser {
    /// What a chunk of body produced.
    enum Event {
        /// A part starts; its header fields (names lower-cased).
        case partBegin([(name: String, value: String)])
        /// Content of the current part.
        case partData(ByteBuffer)
        /// The current part is complete.
        case partEnd
    }

    private enum State { case preamble, afterDelimiter, headers, body, epilogue }

    /// Largest header block of one part.
    static let maxHeaderBytes = 16 * 1024
    /// Largest preamble before the first boundary.
    static let maxPreambleBytes = 64 * 1024

    private var state = State.preamble
    private var carry: ByteBuffer
    private let delimiter: [UInt8]
    private var preambleBytes = 0

    /// A parser for `boundary` (without the leading dashes).
    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // A CRLF in front lets the first boundary (which needs none) be found like every other.
        carry = ByteBuffer(string: "\r\n")
    }

    /// Feeds the next chunk of body; returns the events it completes.
    mutating func feed(_ chunk: ByteBuffer) throws(ControlAPIError) -> [Event] {
        var buffer: ByteBuffer
        if carry.readableBytes == 0 {
            buffer = chunk
        } else {
            buffer = carry
            buffer.writeImmutableBuffer(chunk)
        }
        var events: [Event] = []
        loop: while true {
            switch state {
            case .preamble:
                if let i = Self.find(delimiter, in: buffer) {
                    buffer.moveReaderIndex(forwardBy: i + delimiter.count)
                    state = .afterDelimiter
                } else {
                    let drop = max(0, buffer.readableBytes - (delimiter.count - 1))
                    preambleBytes += drop
                    buffer.moveReaderIndex(forwardBy: drop)
                    if preambleBytes > Self.maxPreambleBytes { throw Self.malformed("no boundary in the first 64 KiB") }
                    break loop
                }
            case .afterDelimiter:
                // "--" ends the body; otherwise optional spaces/tabs, then CRLF, start a part.
                guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { break loop }
                if first == UInt8(ascii: "-") {
                    guard let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else { break loop }
                    guard second == UInt8(ascii: "-") else { throw Self.malformed("bad characters after a boundary") }
                    state = .epilogue
                    continue
                }
                var i = buffer.readerIndex
                while let b = buffer.getInteger(at: i, as: UInt8.self), b == 0x20 || b == 0x09 { i += 1 }
                guard let cr = buffer.getInteger(at: i, as: UInt8.self) else { break loop }
                guard let lf = buffer.getInteger(at: i + 1, as: UInt8.self) else { break loop }
                guard cr == 0x0D, lf == 0x0A else { throw Self.malformed("a boundary line does not end with CRLF") }
                buffer.moveReaderIndex(to: i + 2)
                state = .headers
            case .headers:
                if buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
                    buffer.moveReaderIndex(forwardBy: 2)
                    events.append(.partBegin([]))
                    state = .body
                    continue
                }
                guard let end = Self.find(Array("\r\n\r\n".utf8), in: buffer) else {
                    if buffer.readableBytes > Self.maxHeaderBytes {
                        throw Self.malformed("a part's headers exceed 16 KiB")
                    }
                    break loop
                }
                let text = buffer.readString(length: end) ?? ""
                buffer.moveReaderIndex(forwardBy: 4)
                var fields: [(name: String, value: String)] = []
                for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
                    guard let colon = line.firstIndex(of: ":") else {
                        throw Self.malformed("a part header line has no colon")
                    }
                    fields.append(
                        (
                            line[..<colon].trimmingSpaces().lowercased(),
                            line[line.index(after: colon)...].trimmingSpaces()
                        )
                    )
                }
                events.append(.partBegin(fields))
                state = .body
            case .body:
                if let i = Self.find(delimiter, in: buffer) {
                    if i > 0 { events.append(.partData(buffer.readSlice(length: i)!)) }
                    buffer.moveReaderIndex(forwardBy: delimiter.count)
                    events.append(.partEnd)
                    state = .afterDelimiter
                } else {
                    let safe = buffer.readableBytes - (delimiter.count - 1)
                    if safe > 0 { events.append(.partData(buffer.readSlice(length: safe)!)) }
                    break loop
                }
            case .epilogue:
                buffer.moveReaderIndex(to: buffer.writerIndex)
                break loop
            }
        }
        // Keep what could begin a boundary; copied so the slices handed out are not written into.
        carry = ByteBuffer()
        if buffer.readableBytes > 0 { carry.writeImmutableBuffer(buffer) }
        return events
    }

    /// Checks that the body ended after its closing boundary.
    func finish() throws(ControlAPIError) {
        guard state == .epilogue else { throw Self.malformed("the body ends before the closing boundary") }
    }

    /// The file name of a part from its `Content-Disposition` (`filename*=UTF-8''…` preferred over `filename=`).
    static func filename(fromPartHeaders headers: [(name: String, value: String)]) -> String? {
        guard let disposition = headers.first(where: { $0.name == "content-disposition" })?.value else { return nil }
        var plain: String? = nil
        var extended: String? = nil
        for param in splitParameters(disposition).dropFirst() {
            guard let eq = param.firstIndex(of: "=") else { continue }
            let key = param[..<eq].trimmingSpaces().lowercased()
            let value = unquote(param[param.index(after: eq)...].trimmingSpaces())
            if key == "filename" {
                plain = value
            } else if key == "filename*" {
                // charset'language'percent-encoded
                let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                if pieces.count == 3, pieces[0].lowercased() == "utf-8" {
                    extended = PercentDecoding.decode(pieces[2], plusIsSpace: false)
                }
            }
        }
        return extended ?? plain
    }

    /// Splits a header value at `;` outside quoted strings.
    private static func splitParameters(_ value: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for c in value {
            if escaped {
                current.append(c)
                escaped = false
                continue
            }
            if quoted && c == "\\" {
                current.append(c)
                escaped = true
                continue
            }
            if c == "\"" { quoted.toggle() }
            if c == ";" && !quoted {
                parts.append(current)
                current = ""
                continue
            }
            current.append(c)
        }
        parts.append(current)
        return parts
    }

    /// The content of a quoted-string, or `s` itself. A backslash escapes only `"` and `\`: browsers send a
    /// Windows path's backslashes as they are (`C:\Users\bob\win.mp4`), so any other backslash is kept, and the
    /// name is then cut after it like after a `/`.
    private static func unquote(_ s: String) -> String {
        guard s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") else { return s }
        var out = ""
        var pending = false
        for c in s.dropFirst().dropLast() {
            if pending {
                if c != "\"" && c != "\\" { out.append("\\") }
                out.append(c)
                pending = false
            } else if c == "\\" {
                pending = true
            } else {
                out.append(c)
            }
        }
        if pending { out.append("\\") }
        return out
    }

    /// Offset of `needle` in `buffer`'s readable bytes.
    static func find(_ needle: [UInt8], in buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { hay -> Int? in
            guard let base = hay.baseAddress, hay.count >= needle.count else { return nil }
            let first = Int32(needle[0])
            var start = 0
            return needle.withUnsafeBytes { n -> Int? in
                while start + needle.count <= hay.count {
                    guard let hit = memchr(base + start, first, hay.count - start - needle.count + 1) else {
                        return nil
                    }
                    let i = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + i, n.baseAddress!, needle.count) == 0 { return i }
                    start = i + 1
                }
                return nil
            }
        }
    }

    private static func malformed(_ why: String) -> ControlAPIError {
        .badRequest("malformed_multipart", "malformed multipart/form-data body: \(why)")
    }
}
