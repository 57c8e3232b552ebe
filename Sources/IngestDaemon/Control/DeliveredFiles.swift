import NIOCore
import NIOHTTP1
import Synchronization

/// The file handles one connection gave to NIO as `FileRegion`s (sendfile), and when they are done with.
///
/// A handle is closed by ``FileRegionCloser`` as soon as its region's write has finished or failed; handles whose
/// writes never reached the pipeline (the connection died in between) are closed when the connection closes
/// (``closeAll()``). ``waitUntilSent()`` lets the connection wait for its last file before closing, so that a
/// `Connection: close` answer is not cut off.
final class DeliveredFiles: Sendable {
    private struct State {
        var open: [ObjectIdentifier: NIOFileHandle] = [:]
        /// Opened when the last handle is done (or the connection closed); a new one while files are out.
        var sent = Latch()
        var closed = false
    }

    private let state = Mutex(State())

    init() {}

    /// Takes ownership of `handle` until its region is written or the connection closes.
    func add(_ handle: NIOFileHandle) {
        let refused = state.withLock { s -> Bool in
            guard !s.closed else { return true }
            s.open[ObjectIdentifier(handle)] = handle
            return false
        }
        if refused { try? handle.close() }
    }

    /// The write of `handle`'s region finished (or failed): closes it.
    func finished(_ handle: NIOFileHandle) {
        let sent = state.withLock { s -> Latch? in
            s.open[ObjectIdentifier(handle)] = nil
            guard s.open.isEmpty else { return nil }
            defer { s.sent = Latch() }
            return s.sent
        }
        try? handle.close()
        sent?.open()
    }

    /// The connection closed: closes every handle still held (their writes were failed or dropped by now).
    func closeAll() {
        let (handles, sent) = state.withLock { s in
            s.closed = true
            defer { s.open = [:] }
            return (Array(s.open.values), s.sent)
        }
        for handle in handles { try? handle.close() }
        sent.open()
    }

    /// Returns once every region handed over has been written (or the connection closed), or at once when the
    /// waiting task is cancelled (the server is closing: a client that stopped reading must not hold the stop).
    func waitUntilSent() async {
        let pending = state.withLock { s in s.open.isEmpty || s.closed ? nil : s.sent }
        await pending?.wait()
    }
}

/// Closes the file handle of each `FileRegion` body part once its write completes, and completes the writer's
/// promise after that. Sits at the tail of the pipeline, above the HTTP encoder.
final class FileRegionCloser: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let files: DeliveredFiles

    init(files: DeliveredFiles) { self.files = files }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .body(.fileRegion(let region)) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        let files = self.files
        done.futureResult.whenComplete { result in
            files.finished(region.fileHandle)
            promise?.completeWith(result)
        }
        context.write(data, promise: done)
    }
}
