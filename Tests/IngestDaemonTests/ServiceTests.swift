import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@testable import IngestDaemon

/// Each service alone under a test's graceful shutdown: it runs until told, then does its part of the stop.
extension SystemdEnvironmentTests {
    @Suite(.timeLimit(.minutes(3)))
    struct ServiceTests {
        let logger = Logger(label: "test.services", factory: { _ in SwiftLogNoOpLogHandler() })

        @Test func readinessSaysReadyWhenRunAndStoppingAtShutdown() async throws {
            let listener = try NotifyListener()
            try await SystemdTestSupport.withEnvironment(["NOTIFY_SOCKET": listener.path]) {
                let service = SystemdReadinessService(
                    notifier: SystemdNotifier(logger: logger),
                    logger: logger,
                    readyMetadata: [:]
                )
                let messages = Task { await listener.collect(until: "STOPPING=1", timeout: .seconds(60)) }
                try await testGracefulShutdown { trigger in
                    let running = Task { try await service.run() }
                    try await Task.sleep(for: .milliseconds(100))
                    trigger.triggerGracefulShutdown()
                    try await running.value
                }
                #expect(await messages.value.map(\.message) == ["READY=1", "STOPPING=1"])
            }
        }

        @Test func theControlServiceClosesItsSocketAtShutdown() async throws {
            let server = try await TestServer.start()
            defer { server.dir.cleanup() }
            #expect(FileManager.default.fileExists(atPath: server.socket))
            try await testGracefulShutdown { trigger in
                let running = Task { try await ControlService(server: server.server).run() }
                try await Task.sleep(for: .milliseconds(100))
                #expect(try RawClient(path: server.socket).request("GET", "/health").status == 200)
                trigger.triggerGracefulShutdown()
                try await running.value
            }
            #expect(!FileManager.default.fileExists(atPath: server.socket))
        }
    }
}
