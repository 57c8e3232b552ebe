import Foundation
import Glibc
import Logging
import Testing

@testable import IngestDaemon

/// The systemd tests that change process-wide environment variables (`NOTIFY_SOCKET`, `WATCHDOG_*`, `LISTEN_*`):
/// every suite nested here runs one test at a time.
@Suite(.serialized)
enum SystemdEnvironmentTests {}

extension SystemdEnvironmentTests {
    /// sd_notify against a real peer: a datagram socket bound by the test and named in `NOTIFY_SOCKET`.
    @Suite(.timeLimit(.minutes(3)))
    struct NotifierTests {
        let logger = Logger(label: "test.systemd", factory: { _ in SwiftLogNoOpLogHandler() })

        @Test func lifecycleMessagesReachTheNotifySocket() async throws {
            let listener = try NotifyListener()
            try await SystemdTestSupport.withEnvironment(["NOTIFY_SOCKET": listener.path]) {
                let notifier = SystemdNotifier(logger: self.logger)
                #expect(notifier.isEnabled)

                notifier.ready()
                #expect(listener.receive() == "READY=1")

                notifier.status("ingest 0 queued, 12 stored")
                #expect(listener.receive() == "STATUS=ingest 0 queued, 12 stored")

                notifier.watchdog()
                #expect(listener.receive() == "WATCHDOG=1")

                let before = SystemdNotifier.monotonicMicroseconds()
                notifier.reloading()
                let reload = try #require(listener.receive())
                let lines = reload.split(separator: "\n")
                #expect(lines.first == "RELOADING=1")
                let stamp = try #require(lines.last.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
                #expect(lines.last?.hasPrefix("MONOTONIC_USEC=") == true)
                #expect(stamp >= before && stamp <= SystemdNotifier.monotonicMicroseconds())

                notifier.stopping()
                #expect(listener.receive() == "STOPPING=1")
                #expect(listener.receive(timeout: .milliseconds(100)) == nil)
            }
        }

        @Test func withoutNotifySocketNothingIsSentAndNothingFails() async throws {
            try await SystemdTestSupport.withEnvironment(["NOTIFY_SOCKET": nil]) {
                let notifier = SystemdNotifier(logger: self.logger)
                #expect(!notifier.isEnabled)
                #expect(notifier.send("READY=1") == false)
                notifier.status("nobody listens")
                notifier.stopping()
            }
        }

        @Test func aVanishedListenerDoesNotFailTheDaemon() async throws {
            let directory = try SystemdTestSupport.temporaryDirectory()
            defer { rmdir(directory) }
            try await SystemdTestSupport.withEnvironment(["NOTIFY_SOCKET": directory + "/gone.sock"]) {
                let notifier = SystemdNotifier(logger: self.logger)
                #expect(notifier.send("READY=1") == false)
                notifier.watchdog()
            }
        }

        @Test func statusIsRateLimitedAndTheNewestTextWins() async throws {
            let listener = try NotifyListener()
            try await SystemdTestSupport.withEnvironment(["NOTIFY_SOCKET": listener.path]) {
                let notifier = SystemdNotifier(logger: self.logger)
                notifier.status("a")
                notifier.status("b")
                notifier.status("c")
                let received = await listener.collect(for: .milliseconds(2500))
                #expect(received.map(\.message) == ["STATUS=a", "STATUS=c"])
                if received.count == 2 {
                    let gap = received[1].at - received[0].at
                    // One second apart; arrival times are taken by the listener's thread, which a loaded machine
                    // runs late, hence the margins (without the rate limit the gap would be a few microseconds).
                    #expect(gap >= .milliseconds(500), "the pending status came after \(gap)")
                    #expect(gap < .milliseconds(2500), "the pending status came after \(gap)")
                }
            }
        }

        @Test func aStatusStormSendsAtMostOneLinePerSecond() async throws {
            let listener = try NotifyListener()
            try await SystemdTestSupport.withEnvironment(["NOTIFY_SOCKET": listener.path]) {
                let notifier = SystemdNotifier(logger: self.logger)
                let collector = Task { await listener.collect(until: "STATUS=ingested 25", timeout: .seconds(30)) }
                let start = ContinuousClock.now
                for i in 1...25 {
                    notifier.status("ingested \(i)")
                    try await Task.sleep(for: .milliseconds(80))
                }
                let storm = ContinuousClock.now - start
                let received = await collector.value
                // 25 calls 80 ms apart (2 s, longer on a loaded machine): the first at once, then at most one line
                // per second, and the last text must arrive.
                let seconds = Int(storm.components.seconds)
                #expect(received.count >= 2 && received.count <= seconds + 3, "\(received.map(\.message)) in \(storm)")
                #expect(received.last?.message == "STATUS=ingested 25")
                for (earlier, later) in zip(received, received.dropFirst()) {
                    // At most one line a second (calls come every 80 ms); the margin is for late arrival stamps.
                    #expect(later.at - earlier.at >= .milliseconds(500))
                }
            }
        }

        @Test func newlinesInAStatusDoNotStartNewProtocolLines() async throws {
            let listener = try NotifyListener()
            try await SystemdTestSupport.withEnvironment(["NOTIFY_SOCKET": listener.path]) {
                SystemdNotifier(logger: self.logger).status("two\nlines\nREADY=1")
                #expect(listener.receive() == "STATUS=two lines READY=1")
            }
        }

        @Test func watchdogIntervalIsHalfOfWatchdogUsec() async throws {
            try await SystemdTestSupport.withEnvironment(["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": nil]) {
                #expect(SystemdNotifier(logger: self.logger).watchdogInterval == .milliseconds(1500))
            }
            try await SystemdTestSupport.withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"]) {
                #expect(SystemdNotifier(logger: self.logger).watchdogInterval == .seconds(15))
                // The variables stay for later calls (sd_watchdog_enabled(0, …)).
                #expect(getenv("WATCHDOG_USEC") != nil)
            }
            try await SystemdTestSupport.withEnvironment(["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"]) {
                #expect(SystemdNotifier(logger: self.logger).watchdogInterval == nil)
            }
            try await SystemdTestSupport.withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) {
                #expect(SystemdNotifier(logger: self.logger).watchdogInterval == nil)
            }
            try await SystemdTestSupport.withEnvironment(["WATCHDOG_USEC": "soon", "WATCHDOG_PID": nil]) {
                #expect(SystemdNotifier(logger: self.logger).watchdogInterval == nil)
            }
        }

        @Test func watchdogPingsAtTheIntervalWhileThePipelineAnswers() async throws {
            let listener = try NotifyListener()
            try await SystemdTestSupport.withEnvironment(["NOTIFY_SOCKET": listener.path]) {
                let notifier = SystemdNotifier(logger: self.logger)
                let watchdog = Task {
                    await runWatchdog(notifier: notifier, interval: .milliseconds(200), logger: self.logger) { true }
                }
                let received = await listener.collect(for: .milliseconds(1100))
                watchdog.cancel()
                await watchdog.value
                #expect(received.allSatisfy { $0.message == "WATCHDOG=1" })
                // Ticks at 0, 200, …, 1000 ms: six pings, give or take scheduling (fewer on a loaded machine, never
                // more than the interval allows).
                #expect(received.count >= 3 && received.count <= 7, "\(received.count) pings in 1.1 s")
                // (No gap check between two pings: arrival times are taken by the listener's thread, which a loaded
                // machine runs late, so two pings can be stamped together; the count bounds a burst.)
                // A tick may have fired between the end of the window and the cancellation (a loaded machine
                // runs the cancel late): only what is sent after the watchdog returned counts.
                while listener.receive(timeout: .zero) != nil {}
                #expect(await listener.collect(for: .milliseconds(400)).isEmpty, "pings after cancellation")
            }
        }

        @Test func watchdogSkipsPingsWhileThePipelineIsWedgedAndStopsPromptly() async throws {
            let listener = try NotifyListener()
            try await SystemdTestSupport.withEnvironment(["NOTIFY_SOCKET": listener.path]) {
                let notifier = SystemdNotifier(logger: self.logger)
                let watchdog = Task {
                    await runWatchdog(notifier: notifier, interval: .milliseconds(200), logger: self.logger) {
                        // A probe that never answers (until cancelled): a wedged pipeline actor.
                        try? await Task.sleep(for: .seconds(3600))
                        return true
                    }
                }
                #expect(await listener.collect(for: .seconds(1)).isEmpty)
                let cancelledAt = ContinuousClock.now
                watchdog.cancel()
                await watchdog.value
                #expect(ContinuousClock.now - cancelledAt < .milliseconds(500))
            }
        }

        @Test func watchdogSkipsPingsWhenTheProbeSaysNoAndResumesWhenItRecovers() async throws {
            let listener = try NotifyListener()
            try await SystemdTestSupport.withEnvironment(["NOTIFY_SOCKET": listener.path]) {
                let notifier = SystemdNotifier(logger: self.logger)
                let start = ContinuousClock.now
                let watchdog = Task {
                    await runWatchdog(notifier: notifier, interval: .milliseconds(150), logger: self.logger) {
                        // Unhealthy for the first 600 ms, slow (but in time) afterwards.
                        if ContinuousClock.now - start < .milliseconds(600) { return false }
                        try? await Task.sleep(for: .milliseconds(20))
                        return true
                    }
                }
                let received = await listener.collect(for: .milliseconds(1200))
                watchdog.cancel()
                await watchdog.value
                #expect(!received.isEmpty)
                #expect(received.allSatisfy { $0.at - start >= .milliseconds(600) }, "a ping while the probe said no")
            }
        }
    }
}
