import Foundation
import Logging
import Synchronization
import Testing

@testable import IngestDaemon
@testable import StorageKit

/// The event bus reads and writes the catalog on the blocking threads, so its actor is re-entered while a read
/// is in flight: every event must still reach every subscriber exactly once, in id order.
@Suite(.timeLimit(.minutes(3)))
struct EventBusTests {
    static let logger = Logger(label: "test.events", factory: { _ in SwiftLogNoOpLogHandler() })

    static func bus() throws -> (EventBus, Catalog) {
        let catalog = try Catalog.inMemory()
        return (EventBus(catalog: catalog, blocking: BlockingThreads(count: 4), logger: logger), catalog)
    }

    static func event(_ n: Int) -> IngestEvent {
        IngestEvent(type: .ingested, projectID: "demo", assetID: "asset-\(n)", filename: "f\(n).mp4")
    }

    /// The ids of the first `count` event lines of `stream`.
    static func ids(_ stream: AsyncStream<[UInt8]>, count: Int) async -> [Int64] {
        var ids: [Int64] = []
        for await line in stream {
            let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            ids.append((object?["id"] as? Int).map(Int64.init) ?? -1)
            if ids.count == count { break }
        }
        return ids
    }

    @Test func concurrentPublishesReachASubscriberOnceEachInOrder() async throws {
        let (bus, _) = try Self.bus()
        let stream = try await bus.subscribe(since: nil)
        await withDiscardingTaskGroup { group in
            for n in 1...200 {
                group.addTask { _ = await bus.publish(Self.event(n)) }
            }
        }
        #expect(await Self.ids(stream, count: 200) == Array(1...200))
    }

    @Test func eventsAppendedWithAChangeArriveThroughCatchUp() async throws {
        let (bus, catalog) = try Self.bus()
        let stream = try await bus.subscribe(since: nil)
        _ = try catalog.appendEvent(Self.event(1))
        _ = try catalog.appendEvent(Self.event(2))
        // Many callers at once (every stored file calls it): one read delivers, the others only ask it to go on.
        await withDiscardingTaskGroup { group in
            for _ in 0..<20 { group.addTask { await bus.catchUp() } }
        }
        #expect(await Self.ids(stream, count: 2) == [1, 2])
    }

    /// SPEC: `?since=N` replays the kept events (the newest 10,000 at least): a replay is read from the catalog
    /// as the reader takes it, never cut at the live buffer's size.
    @Test func aReplayOfMoreEventsThanTheLiveBufferHoldsIsWhole() async throws {
        let (bus, catalog) = try Self.bus()
        let count = EventBus.subscriberBuffer * 3 + 7
        try catalog.write { tx in
            for n in 1...count { _ = try tx.appendEvent(Self.event(n)) }
        }
        await bus.catchUp()
        let stream = try await bus.subscribe(since: 0)
        _ = await bus.publish(Self.event(count + 1))
        #expect(await Self.ids(stream, count: count + 1) == Array(1...Int64(count + 1)))
        let later = try await bus.subscribe(since: Int64(count - 10))
        #expect(await Self.ids(later, count: 11) == Array(Int64(count - 9)...Int64(count + 1)))
    }

    /// Found by review: a `since` beyond the last event this node delivered made an invalid range and trapped.
    @Test func aReaderAheadOfTheCatalogFollowsWithoutAReplay() async throws {
        let (bus, _) = try Self.bus()
        for n in 1...3 { _ = await bus.publish(Self.event(n)) }
        let stream = try await bus.subscribe(since: 1_000_000)
        _ = await bus.publish(Self.event(4))
        #expect(await Self.ids(stream, count: 1) == [4])
    }

    @Test func aReplayWhilePublishingHasNoGapAndNoRepeat() async throws {
        let (bus, _) = try Self.bus()
        for n in 1...300 { _ = await bus.publish(Self.event(n)) }
        // Subscribing replays 300 events in batches (suspending between them) while 100 more are published.
        async let subscribed = bus.subscribe(since: 0)
        await withDiscardingTaskGroup { group in
            for n in 301...400 { group.addTask { _ = await bus.publish(Self.event(n)) } }
        }
        let stream = try await subscribed
        #expect(await Self.ids(stream, count: 400) == Array(1...400))
    }
}

/// A replay asked for while the catalog cannot be read is refused at once as `catalog_unavailable` (a 503),
/// rather than streamed as a "gap" line that blamed the reader for being slow and asked it to do what it just
/// did (audit).
@Suite struct EventReplayWithoutCatalogTests {
    /// A catalog whose reads and writes fail as a lost PostgreSQL server's do while `lost` is set.
    final class LosingBackend: CatalogBackend {
        let inner: any CatalogBackend
        let lost = Mutex(false)

        init(_ inner: any CatalogBackend) { self.inner = inner }

        private func check(_ operation: String) throws {
            if lost.withLock({ $0 }) {
                throw StorageError(code: .catalogUnavailable, message: "\(operation): server lost")
            }
        }
        var location: String { inner.location }
        func write<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
            try check(operation)
            return try inner.write(operation, nodeID: nodeID, body)
        }
        func read<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
            try check(operation)
            return try inner.read(operation, nodeID: nodeID, body)
        }
        func watchEvents(_ wake: @escaping @Sendable () -> Void) -> (any CatalogEventWatch)? { nil }
        var unavailableReason: String? { nil }
        func exclusively<T>(_ key: Int64, busy: String, _ body: () throws -> T) throws -> T { try body() }
        func close() {}
        var isClosed: Bool { false }
    }

    @Test func aReplayWhileTheCatalogIsLostIsRefusedAndFollowingStillWorks() async throws {
        let backend = LosingBackend(try Catalog.inMemory().backend)
        let catalog = Catalog(backend: backend, nodeID: "local")
        _ = try catalog.appendEvent(EventBusTests.event(1))
        let bus = EventBus(catalog: catalog, blocking: BlockingThreads(count: 2), logger: EventBusTests.logger)
        backend.lost.withLock { $0 = true }
        await #expect(throws: StorageError.self) { _ = try await bus.subscribe(since: 0) }
        do {
            _ = try await bus.subscribe(since: 0)
        } catch let error as StorageError {
            #expect(error.code == .catalogUnavailable)
            #expect(error.message.contains("cannot be replayed while the catalog is unreachable"))
        }
        // Following only needs no history: it starts, and gets what comes once the catalog is back.
        let stream = try await bus.subscribe(since: nil)
        backend.lost.withLock { $0 = false }
        _ = try catalog.appendEvent(EventBusTests.event(2))
        await bus.catchUp()
        #expect(await EventBusTests.ids(stream, count: 1) == [2])
    }
}
