import StorageKit
import Synchronization

/// The leases of the catalog jobs one service holds on this node, renewed together every `interval` (one
/// catalog call for all of them), and the jobs that turned out lost: cancelled (their asset deleted, their
/// project purged) or taken over by another node once a lease lapsed. Work on a lost job stops at its next
/// look at `isLost`.
///
/// A job may be claimed twice on this node (a held claim whose lease lapsed, then claimed again): it stays held
/// until its last claim lets it go.
final class JobLeases: Sendable {
    private let held = Mutex<[Int64: Int]>([:])
    private let lost = Mutex<Set<Int64>>([])
    let interval: Duration

    init(renewedEvery interval: Duration) {
        self.interval = interval
    }

    /// Starts renewing the leases of `jobs`.
    func hold(_ jobs: some Sequence<Job>) {
        held.withLock { held in
            for job in jobs { held[job.id, default: 0] += 1 }
        }
    }

    /// One claim of `job` ended here: its lease is no longer renewed once no other claim holds it.
    func letGo(_ job: Job) {
        let last = held.withLock { held -> Bool in
            let left = (held[job.id] ?? 1) - 1
            held[job.id] = left > 0 ? left : nil
            return left <= 0
        }
        if last { lost.withLock { _ = $0.remove(job.id) } }
    }

    /// Whether the work of `job` must stop: the job is no longer this node's.
    func isLost(_ job: Job) -> Bool { lost.withLock { $0.contains(job.id) } }

    /// Marks `job` lost at once (its asset was deleted here), without waiting for the next renewal.
    func markLost(_ job: Job) { lost.withLock { _ = $0.insert(job.id) } }

    /// Whether no job is held.
    var isEmpty: Bool { held.withLock { $0.isEmpty } }

    /// Renews the held leases every `interval` until the task is cancelled; a lease that cannot be renewed marks
    /// its job lost. A catalog that does not answer renews nothing and loses nothing: the leases may lapse, and
    /// the claims' own checks (`startJob`, `completeJob`, `failJob`) tell then.
    func renew(in context: DaemonContext) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            let ids = held.withLock { Set($0.keys) }
            guard !ids.isEmpty else { continue }
            let gone =
                (try? await context.withCatalog { catalog in
                    try ids.filter { try !catalog.heartbeatJob(id: $0) }
                }) ?? []
            if !gone.isEmpty { lost.withLock { $0.formUnion(gone) } }
        }
    }
}
