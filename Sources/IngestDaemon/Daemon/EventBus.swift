import Foundation
import Logging
import StorageKit

/// Keeps every event in the catalog (so `?since=N` replays across restarts) and fans it out to `/events`
/// subscribers. A slow subscriber never blocks the daemon: its buffer is bounded, and when it overflows the
/// subscriber is told where its gap starts.
actor EventBus {
    private let catalog: Catalog
    private let logger: Logger
    private var subscribers: [UInt64: Subscriber] = [:]
    private var nextSubscriberID: UInt64 = 0

    private struct Subscriber {
        let continuation: AsyncStream<[UInt8]>.Continuation
        /// First event id the subscriber missed, while it is behind.
        var gapFrom: Int64?
    }

    /// Events a subscriber may have waiting before it counts as slow.
    static let subscriberBuffer = 1024

    init(catalog: Catalog, logger: Logger) {
        self.catalog = catalog
        self.logger = logger
    }

    /// Stores `event` (assigning its consecutive id) and delivers it.
    @discardableResult
    func publish(_ event: IngestEvent) -> IngestEvent? {
        let stored: IngestEvent
        do {
            stored = try catalog.appendEvent(event)
        } catch {
            logger.error("cannot store event", metadata: ["error": "\(error)"])
            return nil
        }
        broadcast(stored)
        return stored
    }

    /// Delivers an event already stored in the catalog (appended in the same transaction as the change it
    /// describes).
    func broadcast(_ stored: IngestEvent) {
        let line = Self.line(stored)
        for (id, var sub) in subscribers {
            if let gap = sub.gapFrom {
                let marker = Self.gapLine(from: gap, resumeAt: stored.id)
                guard case .enqueued = sub.continuation.yield(marker) else { continue }
                sub.gapFrom = nil
            }
            if case .dropped = sub.continuation.yield(line) { sub.gapFrom = stored.id }
            subscribers[id] = sub
        }
    }

    /// A stream of NDJSON lines: first the kept events after `since` (if given), then new ones as they happen.
    func subscribe(since: Int64?) throws -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: [UInt8].self, bufferingPolicy: .bufferingOldest(Self.subscriberBuffer))
        var gapFrom: Int64? = nil
        if let since {
            // The actor is not re-entered here, so nothing published can slip between replay and follow.
            var after = since
            while true {
                let batch = try catalog.events(after: after, limit: 500)
                if batch.isEmpty { break }
                for e in batch {
                    if case .dropped = continuation.yield(Self.line(e)), gapFrom == nil { gapFrom = e.id }
                }
                after = batch.last!.id
            }
        }
        let id = nextSubscriberID
        nextSubscriberID += 1
        subscribers[id] = Subscriber(continuation: continuation, gapFrom: gapFrom)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        return stream
    }

    private func unsubscribe(_ id: UInt64) { subscribers[id] = nil }

    /// Ends every subscription (shutdown).
    func finishAll() {
        for sub in subscribers.values { sub.continuation.finish() }
        subscribers.removeAll()
    }

    static func line(_ event: IngestEvent) -> [UInt8] {
        var bytes = (try? encoder.encode(event)).map(Array.init) ?? Array("{}".utf8)
        bytes.append(0x0A)
        return bytes
    }

    static func gapLine(from: Int64, resumeAt: Int64) -> [UInt8] {
        Array(#"{"type":"gap","from":\#(from),"resume_at":\#(resumeAt),"detail":"events were skipped because this reader was too slow; replay them with ?since=\#(from - 1)"}"#.utf8) + [0x0A]
    }

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()
}
