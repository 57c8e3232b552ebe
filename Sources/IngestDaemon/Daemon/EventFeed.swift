import StorageKit

/// One `/events` reader's lines: the replay of kept events in `replay` (exclusive of its lower bound), read
/// from the catalog a page at a time as the reader asks, then the live lines of its subscription.
///
/// Used by one reader, one call at a time (an `AsyncStream(unfolding:)` calls `next()` only after the previous
/// call returned), hence unchecked.
final class EventFeed: @unchecked Sendable {
    /// The last id replayed, and the last id to replay.
    private var cursor: Int64
    private let end: Int64
    private var page: [IngestEvent] = []
    private var pageIndex = 0
    private let catalog: Catalog
    private let blocking: BlockingThreads
    private var live: AsyncStream<[UInt8]>.Iterator
    /// Events read per catalog query.
    static let pageSize = 500

    init(replay: Range<Int64>?, catalog: Catalog, blocking: BlockingThreads, live: AsyncStream<[UInt8]>) {
        cursor = replay?.lowerBound ?? 0
        end = replay.map { max($0.lowerBound, $0.upperBound) } ?? 0
        self.catalog = catalog
        self.blocking = blocking
        self.live = live.makeAsyncIterator()
    }

    /// The next line, `nil` once the subscription ended.
    func next() async -> [UInt8]? {
        if let line = await nextReplayed() { return line }
        return await live.next()
    }

    private func nextReplayed() async -> [UInt8]? {
        while cursor < end {
            if pageIndex < page.count {
                let event = page[pageIndex]
                pageIndex += 1
                guard event.id <= end else { break }
                cursor = event.id
                return EventBus.line(event)
            }
            let after = cursor
            do {
                page = try await blocking.run { [catalog] in
                    try catalog.events(after: after, limit: Self.pageSize)
                }
            } catch {
                // The catalog could not be read (lost server): the reader is told where its replay stopped.
                let stopped = cursor
                cursor = end
                return EventBus.gapLine(
                    from: stopped + 1,
                    resumeAt: end + 1,
                    because: "the catalog could not be read during the replay"
                )
            }
            pageIndex = 0
            if page.isEmpty { break }
        }
        cursor = end
        return nil
    }
}
