import Foundation
import Logging
import ServiceLifecycle
import StorageKit

extension Daemon {
    /// How often a node of a shared storage looks for nodes that stopped running.
    static let takeOverInterval = Duration.seconds(30)

    /// Takes over the work that nodes sharing this storage left when they stopped running (their lock is free):
    /// their files in flight go back through this node's drop, their partial files go. Nothing on SQLite (one
    /// node: its own start-up recovered everything). A node that runs is never touched.
    func takeOverLostNodes() async {
        guard context.catalog.isShared else { return }
        let (layout, ingestor, drop) = (context.layout, context.ingestor, context.dropRoot)
        let me = context.catalog.nodeID
        var tookOver = false
        for node in StorageLock.nodes(in: layout) where node != me {
            do {
                let summary = try await context.blocking.run { try ingestor.takeOver(node: node, dropRoot: drop) }
                guard let summary, !summary.isEmpty else { continue }
                tookOver = true
                var metadata = summary.logMetadata
                metadata["node"] = "\(node)"
                context.logger.notice("took over the work of a node that is not running", metadata: metadata)
            } catch {
                context.logger.warning(
                    "could not take over the work of a node that is not running; tried again later",
                    metadata: ["node": "\(node)", "error": "\(error)"]
                )
            }
        }
        // Placements a take-over finished appended their `ingested` events with the records.
        if tookOver { await context.events.catchUp() }
    }
}

/// Looks every ``Daemon/takeOverInterval`` for nodes sharing the storage that stopped running, and takes over
/// what they left (a node lost for good, not restarted); ends at graceful shutdown.
struct TakeOverService: Service {
    let daemon: Daemon

    func run() async throws {
        await withDiscardingTaskGroup { group in
            // (SQLite: one node, nothing to take over; the service only waits for the stop.)
            if daemon.context.catalog.isShared {
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: Daemon.takeOverInterval) } catch { return }
                        await daemon.takeOverLostNodes()
                    }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }
}
