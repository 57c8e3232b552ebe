import CIngestLinux
import Foundation
import Logging
import StorageKit
import Synchronization
import SystemPackage

/// Watches `DROP_PATH` and every folder below it with inotify on a dedicated OS thread (never the cooperative
/// pool) and scans folders when asked, when they appear, and after an overflow.
///
/// The thread never waits on the pipeline: events go into an `AsyncStream` with a bounded buffer, and a full
/// buffer (like the kernel's `IN_Q_OVERFLOW`) means "rescan".
final class InotifyWatcher: Sendable {
    let root: RawPath
    let events: AsyncStream<WatchEvent>
    private let continuation: AsyncStream<WatchEvent>.Continuation
    private let inotify: Inotify
    /// Wakes the thread's `poll` (`stop()`, `requestRescan()`); open as long as the watcher, so that a late wake
    /// never writes into a descriptor number something else has reused.
    let wakeFD: Int32
    private let logger: Logger
    private let state = Mutex(State())

    /// What the thread and the API share.
    private struct State {
        var pathsByWatch: [Int32: RawPath] = [:]
        var rescanRequested = false
        var stopRequested = false
        var watchLimitReached = false
        /// The drop folder itself was removed: looked for every half second, rescanned when it is back.
        var rootMissing = false
    }

    /// The narrow mask: no IN_OPEN/IN_ACCESS/IN_MODIFY, so the daemon's own reads never flood the queue.
    private static let mask: Inotify.Mask = [
        .closedAfterWriting, .movedTo, .created, .movedFrom, .watchedFolderDeleted, .watchedFolderMoved,
        .attributesChanged, .onlyFolders,
    ]

    init(root: String, logger: Logger, bufferLimit: Int = 65_536) throws {
        self.root = RawPath(StorageLayout.normalize(root))
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(
            of: WatchEvent.self,
            bufferingPolicy: .bufferingOldest(bufferLimit)
        )
        inotify = try Inotify()
        wakeFD = try Syscall.valueOrErrno { CIngestLinux_eventfd() }.orThrow("eventfd", path: root)
    }

    /// True when `max_user_watches` ran out and some folders are not watched (reported in `/health`).
    var watchLimitReached: Bool { state.withLock { $0.watchLimitReached } }

    /// True while the drop folder itself is missing (reported in `/health`).
    var dropMissing: Bool { state.withLock { $0.rootMissing } }

    /// Starts the thread; it adds the watches, then scans the whole drop once (the start-up scan).
    func start() {
        state.withLock { $0.rescanRequested = true }
        let thread = Thread { [self] in self.loop() }
        thread.name = "ingestd-inotify"
        thread.start()
    }

    /// Asks for a full scan of the drop (rescan requests coalesce).
    func requestRescan() {
        state.withLock { $0.rescanRequested = true }
        wake()
    }

    /// Stops the thread; the event stream finishes. Stopping again does nothing.
    func stop() {
        let first = state.withLock { s in
            defer { s.stopRequested = true }
            return !s.stopRequested
        }
        if first { wake() }
    }

    deinit {
        close(wakeFD)
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: - The thread

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: Inotify.minimumBuffer)
        var lastRescan = ContinuousClock.now - .seconds(3600)
        var rescanBackoff = Duration.milliseconds(250)
        var deferredRescanAt: ContinuousClock.Instant? = nil
        defer { continuation.finish() }
        while true {
            let (stop, rescan) = state.withLock { s -> (Bool, Bool) in
                let r = s.rescanRequested
                s.rescanRequested = false
                return (s.stopRequested, r)
            }
            if stop { return }
            if rescan || (deferredRescanAt.map { ContinuousClock.now >= $0 } ?? false) {
                // Back off when overflow rescans repeat: a storm of events must not become a storm of walks.
                let now = ContinuousClock.now
                if now - lastRescan < rescanBackoff && deferredRescanAt == nil {
                    deferredRescanAt = lastRescan + rescanBackoff
                    rescanBackoff = min(rescanBackoff * 2, .seconds(30))
                } else {
                    deferredRescanAt = nil
                    if now - lastRescan > .seconds(60) { rescanBackoff = .milliseconds(250) }
                    lastRescan = now
                    let count = scan(root, addWatches: true)
                    yield(.scanFinished(files: count))
                }
            }
            var fds = [
                pollfd(fd: inotify.fileDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
            ]
            var timeout: Int32 = -1
            if let at = deferredRescanAt {
                let left = at - ContinuousClock.now
                timeout = max(
                    0,
                    Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
                )
            }
            if state.withLock({ $0.rootMissing }) {
                timeout = timeout < 0 ? 500 : min(timeout, 500)
                if rootIsBack() { continue }
            }
            if case .failure(let error) = Syscall.nothingOrErrno({ poll(&fds, 2, timeout) }) {
                logger.critical("inotify poll failed", metadata: ["error": "\(error)"])
                return
            }
            if fds[1].revents != 0 {
                var value: UInt64 = 0
                _ = read(wakeFD, &value, 8)
            }
            if fds[0].revents != 0 { inotify.readQueued(into: &buffer) { handle($0) } }
        }
    }

    private func handle(_ event: Inotify.Event) {
        let mask = event.mask
        if mask.contains(.queueOverflowed) {
            logger.warning("inotify queue overflowed; rescanning the drop")
            state.withLock { $0.rescanRequested = true }
            return
        }
        if mask.contains(.watchRemoved) {
            let lostRoot = state.withLock { s -> Bool in
                let lost = s.pathsByWatch.removeValue(forKey: event.watch) == root
                if lost { s.rootMissing = true }
                return lost
            }
            if lostRoot {
                logger.error(
                    "the drop folder is gone; nothing is taken until it exists again",
                    metadata: ["filename": "\(root)"]
                )
            }
            return
        }
        if mask.contains(.watchedFolderMoved) {
            // A folder below the drop renamed is seen by its parent's watch (`movedFrom`/`movedTo`). The drop
            // folder itself renamed away is gone from its path: its watches, which followed it, would report
            // files of a folder that is no longer the drop under the drop's paths, and never one put into a
            // folder made again at the path.
            if state.withLock({ $0.pathsByWatch[event.watch] }) == root { lostRootByRename() }
            return
        }
        guard let dir = state.withLock({ $0.pathsByWatch[event.watch] }), !event.name.isEmpty else { return }
        let path = dir.appending(event.name)
        if mask.contains(.isFolder) {
            if !mask.isDisjoint(with: [.created, .movedTo]) {
                // A hidden or temporary folder is left alone, unwatched, until it is renamed (a rename into a
                // plain name comes here again as `movedTo`).
                guard !DropNames.isIgnored(event.name) else { return }
                // A folder created and filled before its watch exists gets no events: scan it after watching.
                _ = scan(path, addWatches: true)
            } else if mask.contains(.movedFrom) {
                forgetWatches(below: path)
            }
            return
        }
        if !mask.isDisjoint(with: [.closedAfterWriting, .movedTo, .created, .attributesChanged]) {
            yield(.candidate(path))
        }
    }

    private func yield(_ event: WatchEvent) {
        if case .dropped = continuation.yield(event) {
            // The pipeline is behind: what was dropped is found again by a rescan.
            state.withLock { $0.rescanRequested = true }
        }
    }

    /// Adds a watch on `dir` and, recursively, on every folder below; yields every non-folder entry.
    @discardableResult
    private func scan(_ dir: RawPath, addWatches: Bool) -> Int {
        if addWatches { addWatch(dir) }
        guard let d = dir.withCString({ opendir($0) }) else { return 0 }
        defer { closedir(d) }
        var files = 0
        var subdirs: [RawPath] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            let path = dir.appending(name)
            var type = entry.pointee.d_type
            if type == UInt8(DT_UNKNOWN) {
                var s = stat()
                if path.withCString({ lstat($0, &s) }) == 0 {
                    type = (s.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : UInt8(DT_REG)
                }
            }
            if type == UInt8(DT_DIR) {
                if !DropNames.isIgnored(name) { subdirs.append(path) }
            } else {
                files += 1
                yield(.candidate(path))
            }
        }
        for sub in subdirs { files += scan(sub, addWatches: addWatches) }
        return files
    }

    /// The drop folder was renamed: every watch (the renamed tree's) goes, and the path is looked for again, as
    /// when the folder is deleted.
    private func lostRootByRename() {
        let watches = state.withLock { s -> [Int32] in
            defer {
                s.pathsByWatch = [:]
                s.rootMissing = true
            }
            return Array(s.pathsByWatch.keys)
        }
        for watch in watches { inotify.removeWatch(watch) }
        logger.error(
            "the drop folder is gone (renamed); nothing is taken until it exists again",
            metadata: ["filename": "\(root)"]
        )
    }

    /// When the drop folder is missing: true (and a rescan is due) once it is a folder again.
    private func rootIsBack() -> Bool {
        var s = stat()
        guard root.withCString({ stat($0, &s) }) == 0, s.st_mode & S_IFMT == S_IFDIR else { return false }
        state.withLock {
            $0.rootMissing = false
            $0.rescanRequested = true
        }
        logger.notice("the drop folder is back; scanning it", metadata: ["filename": "\(root)"])
        return true
    }

    private func addWatch(_ dir: RawPath) {
        let error: Errno
        switch inotify.addWatch(dir, mask: Self.mask) {
        case .success(let watch):
            state.withLock { $0.pathsByWatch[watch] = dir }
            return
        case .failure(let failure):
            error = failure
        }
        if error == .noSpace {
            let first = state.withLock { s -> Bool in
                defer { s.watchLimitReached = true }
                return !s.watchLimitReached
            }
            if first {
                logger.error(
                    "inotify watch limit reached (fs.inotify.max_user_watches): folders below are not watched; raise the limit and rescan",
                    metadata: ["filename": "\(dir)"]
                )
            }
        } else if error != .noSuchFileOrDirectory && error != .notDirectory {
            logger.warning("cannot watch folder", metadata: ["filename": "\(dir)", "error": "\(error)"])
        }
    }

    private func forgetWatches(below dir: RawPath) {
        let prefix = dir.bytes + [0x2F]
        let gone = state.withLock { s in
            s.pathsByWatch.filter { $0.value == dir || $0.value.bytes.starts(with: prefix) }.map(\.key)
        }
        for watch in gone { inotify.removeWatch(watch) }
    }
}
