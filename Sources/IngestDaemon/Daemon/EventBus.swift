import Foundation
import Logging
import StorageKit

/// Keeps every event in the catalog (so `?since=N` replays across restarts) and fans it out to `/events`
/// subscribers. The catalog is the source of truth: events are appended there (by ``publish(_:)``, or inside the
/// transaction that makes the change they describe) and the bus delivers what it holds beyond the last id it
/// delivered, in id order. A slow subscriber never blocks the daemon: its buffer is bounded, and when it
/// overflows the subscriber is told where its gap starts.
actor EventBus {
    private let catalog: Catalog
    private let blocking: BlockingThreads
    private let logger: Logger
    private var subscribers: [UInt64: Subscriber] = [:]
    private var nextSubscriberID: UInt64 = 0
    /// The highest event id delivered to subscribers.
    private var delivered: Int64
    /// The catalog's notice of other nodes' events (PostgreSQL `LISTEN`), while following.
    private var watch: (any CatalogEventWatch)?
    /// A catch-up is reading the catalog (the actor is free meanwhile); another call only asks it to go on.
    private var catchingUp = false
    private var catchUpAgain = false

    private struct Subscriber {
        let continuation: AsyncStream<[UInt8]>.Continuation
        /// First event id the subscriber missed, while it is behind.
        var gapFrom: Int64?
    }

    /// Events a subscriber may have waiting before it counts as slow.
    static let subscriberBuffer = 1024

    init(catalog: Catalog, blocking: BlockingThreads, logger: Logger) {
        self.catalog = catalog
        self.blocking = blocking
        self.logger = logger
        // Events from before this start are history: subscribers replay them with `?since=`.
        delivered = (try? catalog.lastEventID()) ?? 0
    }

    /// Follows events other nodes append to a shared catalog: each notice delivers what is new (no polling),
    /// and calls `onNotice` (work another node queued comes with an event: `ingested` queues a thumbnail,
    /// `thumbnail_ready` a sprite and renditions). A catalog of one node never sends one.
    func follow(onNotice: @escaping @Sendable () -> Void = {}) {
        guard watch == nil else { return }
        watch = catalog.watchEvents { [weak self] in
            onNotice()
            Task { await self?.catchUp() }
        }
    }

    /// Stores `event` (assigning its consecutive id) and delivers it.
    @discardableResult
    func publish(_ event: IngestEvent) async -> IngestEvent? {
        let stored: IngestEvent
        do {
            stored = try await blocking.run { [catalog] in try catalog.appendEvent(event) }
        } catch {
            logger.error("cannot store event", metadata: ["error": "\(error)"])
            return nil
        }
        await catchUp()
        return stored
    }

    /// Delivers, in id order, every event the catalog holds beyond the last one delivered (events appended in
    /// the same transaction as the change they describe). While one catch-up runs, another call only makes it
    /// read once more, so no event is delivered twice.
    func catchUp() async {
        // Nobody listens: nothing to read (a first subscriber starts after the newest event; see `subscribe`).
        guard !subscribers.isEmpty else { return }
        if catchingUp {
            catchUpAgain = true
            return
        }
        catchingUp = true
        defer { catchingUp = false }
        repeat {
            catchUpAgain = false
            do {
                while true {
                    let after = delivered
                    let batch = try await blocking.run { [catalog] in try catalog.events(after: after, limit: 500) }
                    guard let last = batch.last else { break }
                    for event in batch { deliver(event) }
                    delivered = last.id
                }
            } catch {
                logger.error("cannot read events", metadata: ["error": "\(error)"])
                return
            }
        } while catchUpAgain
    }

    /// Starts a ``catchUp()`` without waiting for it: for workers whose next job need not wait for subscribers
    /// to be told of the last one.
    nonisolated func catchUpSoon() {
        Task { await catchUp() }
    }

    private func deliver(_ stored: IngestEvent) {
        let line = Self.line(stored)
        for (id, var sub) in subscribers {
            if let gap = sub.gapFrom {
                let marker = Self.gapLine(from: gap, resumeAt: stored.id, because: "this reader was too slow")
                guard case .enqueued = sub.continuation.yield(marker) else { continue }
                sub.gapFrom = nil
            }
            if case .dropped = sub.continuation.yield(line) { sub.gapFrom = stored.id }
            subscribers[id] = sub
        }
    }

    /// A stream of NDJSON lines: first the kept events after `since` (if given), then new ones as they happen.
    ///
    /// The replay is read from the catalog a page at a time as the reader takes it (the kept events may be far
    /// more than a live buffer holds); new events wait in the live buffer meanwhile. The live subscription starts
    /// at `delivered` with nothing suspending in between: every event is either replayed or delivered live.
    func subscribe(since: Int64?) async throws -> AsyncStream<[UInt8]> {
        // A reader ahead of this node (it followed another node, whose events this one has not read yet): read
        // them first. One ahead of the catalog itself (a bogus id, a restored backup) simply follows.
        if subscribers.isEmpty || since != nil {
            do {
                let last = try await blocking.run { [catalog] in try catalog.lastEventID() }
                // Events appended while nobody listened were not read: they are history, replayed with `since`.
                if subscribers.isEmpty { delivered = max(delivered, last) }
            } catch  where since != nil {
                // A replay needs the catalog: say so now, rather than stream a gap the reader cannot mend.
                throw StorageError(
                    code: .catalogUnavailable,
                    message: "the kept events cannot be replayed while the catalog is unreachable (\(error)); "
                        + "retry later, or follow new events without ?since"
                )
            } catch {
                // Following only: new events are delivered once the catalog is back.
            }
        }
        if let since, since > delivered { await catchUp() }
        let (live, continuation) = AsyncStream.makeStream(
            of: [UInt8].self,
            bufferingPolicy: .bufferingOldest(Self.subscriberBuffer)
        )
        let id = nextSubscriberID
        nextSubscriberID += 1
        subscribers[id] = Subscriber(continuation: continuation, gapFrom: nil)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        let feed = EventFeed(
            replay: since.map { min($0, delivered)..<delivered },
            catalog: catalog,
            blocking: blocking,
            live: live
        )
        return AsyncStream(unfolding: { await feed.next() }, onCancel: { continuation.finish() })
    }

    private func unsubscribe(_ id: UInt64) { subscribers[id] = nil }

    /// Ends every subscription (shutdown).
    func finishAll() {
        watch?.stop()
        watch = nil
        for sub in subscribers.values { sub.continuation.finish() }
        subscribers.removeAll()
    }

    static func line(_ event: IngestEvent) -> [UInt8] {
        var bytes = event.orderedJSON
        bytes.append(0x0A)
        return bytes
    }

    /// The line that tells a reader the events from `from` up to `resumeAt` (exclusive) were not sent to it,
    /// and why.
    static func gapLine(from: Int64, resumeAt: Int64, because reason: String) -> [UInt8] {
        Array(
            #"{"type":"gap","from":\#(from),"resume_at":\#(resumeAt),"detail":"events were skipped because \#(reason); replay them with ?since=\#(from - 1)"}"#
                .utf8
        ) + [0x0A]
    }

}
