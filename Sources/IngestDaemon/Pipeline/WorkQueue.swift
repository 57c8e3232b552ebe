/// A bounded FIFO of unique items with waiting consumers: between the settle tracker and the ingest workers,
/// and in front of the thumbnail workers. An item is never queued or in progress twice; an item pushed while
/// it is in progress is handed out again once it is done (a new file renamed onto a path being ingested is a
/// new notice, not a duplicate of the one in flight).
actor WorkQueue<Item: Hashable & Sendable> {
    private var items: [Item] = []
    private var head = 0
    private var members: Set<Item> = []
    private var active = 0
    /// Items in progress, and those of them pushed again meanwhile.
    private var inProgress: Set<Item> = []
    private var pushedAgain: Set<Item> = []
    private var waiters: [CheckedContinuation<Item?, Never>] = []
    /// Opened at the queue's next idle moment (`untilIdle()`); a new one after each.
    private var idleLatch = Latch()
    private(set) var isClosed = false
    let capacity: Int
    /// Called at each idle moment (nothing waits, nothing is in progress), after `untilIdle()`'s waiters go.
    private let becameIdle: @Sendable () -> Void

    init(capacity: Int = .max, becameIdle: @escaping @Sendable () -> Void = {}) {
        self.capacity = capacity
        self.becameIdle = becameIdle
    }

    /// Waiting plus in progress.
    var depth: Int { items.count - head + active }

    /// Nothing waiting and nothing in progress.
    var isIdle: Bool { items.count - head == 0 && active == 0 }

    /// Queues `item`; `false` only when the queue is full (the caller retries later). An item already
    /// queued counts as queued; one in progress is queued again when it is done.
    @discardableResult
    func push(_ item: Item) -> Bool {
        if isClosed { return true }
        if members.contains(item) {
            if inProgress.contains(item) { pushedAgain.insert(item) }
            return true
        }
        guard items.count - head < capacity else { return false }
        enqueue(item)
        return true
    }

    /// Queues `item` whatever the capacity (a notice already accepted is never dropped).
    private func enqueue(_ item: Item) {
        members.insert(item)
        if !waiters.isEmpty {
            active += 1
            inProgress.insert(item)
            waiters.removeFirst().resume(returning: item)
            return
        }
        items.append(item)
    }

    /// The next item, or `nil` once the queue is closed.
    func pop() async -> Item? {
        if head < items.count {
            let item = items[head]
            head += 1
            if head > 1024 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            active += 1
            inProgress.insert(item)
            return item
        }
        if isClosed { return nil }
        return await withCheckedContinuation { waiters.append($0) }
    }

    /// A consumer finished `item`.
    func done(_ item: Item) {
        members.remove(item)
        inProgress.remove(item)
        active -= 1
        // The repeat notice was accepted while the item was in progress: it is queued even when the queue
        // filled up meanwhile, or it would be lost.
        if pushedAgain.remove(item) != nil, !isClosed { enqueue(item) }
        if isIdle { releaseIdleWaiters() }
    }

    /// Returns once nothing waits and nothing is in progress (at once when that is so now), or when the
    /// calling task is cancelled. A drain waits here instead of looking every few milliseconds.
    func untilIdle() async {
        if isIdle { return }
        let latch = idleLatch
        await latch.wait()
    }

    private func releaseIdleWaiters() {
        idleLatch.open()
        idleLatch = Latch()
        becameIdle()
    }

    /// Stops handing out items: what waits stays where it is (the drop, the catalog) for the next start.
    func close() {
        isClosed = true
        pushedAgain.removeAll()
        for item in items[head...] { members.remove(item) }
        items.removeAll()
        head = 0
        for w in waiters { w.resume(returning: nil) }
        waiters.removeAll()
        if isIdle { releaseIdleWaiters() }
    }
}
