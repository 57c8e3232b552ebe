import Foundation
import Testing

@testable import IngestDaemon
@testable import StorageKit

/// The leases a service holds: renewed together, a job whose lease cannot be renewed (cancelled, taken over) is
/// lost and its work stops; a job claimed twice here stays held until its last claim lets go.
@Suite(.timeLimit(.minutes(1)))
struct JobLeasesTests {
    private static func context(_ dir: TempDir) throws -> DaemonContext {
        try DaemonContext.forTests(in: dir, nodeID: "n1")
    }

    @Test func aCancelledJobIsLostAtTheNextRenewalAndAHeldOneIsRenewed() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let context = try Self.context(dir)
        for name in ["gone", "kept"] { try context.catalog.enqueueJob(.sprite, assetID: name, params: "auto") }
        let longAgo = Date().addingTimeInterval(-25)
        let gone = try #require(try context.catalog.claimJob(kinds: [.sprite], lease: .seconds(30), now: longAgo))
        let kept = try #require(try context.catalog.claimJob(kinds: [.sprite], lease: .seconds(30), now: longAgo))
        let leases = JobLeases(renewedEvery: .milliseconds(50))
        leases.hold([gone, kept])
        let renewal = Task { await leases.renew(in: context) }
        defer { renewal.cancel() }
        try context.catalog.cancelJobs(assetID: "gone")

        let deadline = ContinuousClock.now + .seconds(20)
        while !leases.isLost(gone), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(leases.isLost(gone))
        #expect(!leases.isLost(kept))
        // Renewed: claimed 25 s ago with a 30 s lease, it now runs well past that.
        let lease = try #require(try context.catalog.jobs(assetID: "kept").first?.leaseExpires)
        #expect(lease > Date().addingTimeInterval(20))
    }

    @Test func aJobClaimedTwiceIsHeldUntilItsLastClaimLetsGo() throws {
        let job = Job(id: 7, kind: .thumbnail, assetID: "a", params: "", state: .running, attempts: 1)
        let leases = JobLeases(renewedEvery: .seconds(10))
        leases.hold([job])
        leases.hold([job])
        leases.markLost(job)
        leases.letGo(job)
        #expect(!leases.isEmpty)
        #expect(leases.isLost(job), "the other claim's work must still stop")
        leases.letGo(job)
        #expect(leases.isEmpty)
        #expect(!leases.isLost(job))
    }
}
