import CSystemd
import Glibc
import Logging
import Synchronization

/// The daemon's side of systemd's notification protocol (`sd_notify(3)`).
///
/// Every call is best-effort: without `NOTIFY_SOCKET` (a terminal run) `sd_notify` does nothing, and a failed send
/// is logged at debug level and otherwise ignored, because losing a status line must never stop the daemon.
/// `NOTIFY_SOCKET` is read on every send and never unset, so a restarted helper or a test can still use it.
///
/// `STATUS=` lines are rate-limited to one per `statusInterval` (one second by default). A status that arrives too
/// soon is kept as *pending*; a newer one replaces it, and a short timer delivers the newest once the interval has
/// passed, so the last figure always reaches systemd.
///
/// Lifecycle, as the daemon uses it:
/// - start-up: ``ready()`` once the watcher and the control socket are up and the start-up scan is queued;
/// - SIGHUP: ``reloading()``, re-read the configuration, then ``ready()`` (also when the new one was refused);
/// - SIGTERM/SIGINT: ``stopping()`` first, then the drain;
/// - all the time: ``status(_:)`` with live figures, and ``watchdog()`` from ``runWatchdog(notifier:interval:probeTimeout:logger:isAlive:)``.
final class SystemdNotifier: Sendable {
    private struct StatusState {
        /// When the last `STATUS=` went out.
        var lastSent: ContinuousClock.Instant?
        /// The newest text that could not be sent yet.
        var pending: String?
        /// Whether a timer task is already waiting to send `pending`.
        var timerScheduled = false
    }

    private let statusInterval: Duration
    private let state = Mutex(StatusState())
    private let logger: Logger

    /// Creates a notifier.
    /// - Parameters:
    ///   - statusInterval: the least time between two `STATUS=` lines.
    ///   - logger: where failed sends are reported (debug level); pass one made after `LoggingBootstrap.bootstrap`.
    init(statusInterval: Duration = .seconds(1), logger: Logger) {
        self.statusInterval = statusInterval
        self.logger = logger
    }

    /// Whether a service manager listens at all (`NOTIFY_SOCKET` is set), e.g. to skip building status texts.
    var isEnabled: Bool {
        getenv("NOTIFY_SOCKET") != nil
    }

    /// `READY=1`: start-up (or a reload) is complete.
    func ready() {
        self.send("READY=1")
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (systemd ≥ 253 matches the reload with it; 252 ignores the extra line).
    /// Follow it with ``ready()`` when the reload is over.
    func reloading() {
        self.send("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
    }

    /// `STOPPING=1`: the daemon has begun shutting down.
    func stopping() {
        self.send("STOPPING=1")
    }

    /// `WATCHDOG=1`: the daemon is alive. Call it only after proving liveness (see ``runWatchdog(notifier:interval:probeTimeout:logger:isAlive:)``).
    func watchdog() {
        self.send("WATCHDOG=1")
    }

    /// `STATUS=`: a one-line human-readable status, at most one per `statusInterval`; the newest text wins.
    ///
    /// Newlines in `text` become spaces, since the protocol is line-based.
    func status(_ text: String) {
        // In a terminal run nobody listens: skip the rate-limit bookkeeping and its timer.
        guard self.isEnabled else { return }
        let line = String(text.map { $0.isNewline ? " " : $0 })
        let now = ContinuousClock.now
        enum Action {
            case sendNow
            case scheduleTimer(ContinuousClock.Instant)
            case nothing
        }
        let action: Action = self.state.withLock { state in
            if let last = state.lastSent, now < last + self.statusInterval {
                state.pending = line
                if state.timerScheduled { return .nothing }
                state.timerScheduled = true
                return .scheduleTimer(last + self.statusInterval)
            }
            state.lastSent = now
            state.pending = nil
            return .sendNow
        }
        switch action {
        case .sendNow:
            self.send("STATUS=\(line)")
        case .scheduleTimer(let deadline):
            // A short unstructured timer: it ends after one send and holds only this notifier.
            Task { [self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                self.flushStatus()
            }
        case .nothing:
            break
        }
    }

    /// Sends a pending `STATUS=` text now, regardless of the rate limit (e.g. just before exit).
    func flushStatus() {
        let text: String? = self.state.withLock { state in
            state.timerScheduled = false
            guard let pending = state.pending else { return nil }
            state.pending = nil
            state.lastSent = .now
            return pending
        }
        if let text {
            self.send("STATUS=\(text)")
        }
    }

    /// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, or nil when systemd does not expect pings
    /// (no `WATCHDOG_USEC`, or `WATCHDOG_PID` names another process).
    var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        // sd_watchdog_enabled(3): > 0 and usec set when enabled for this pid; 0 when not; < 0 on a malformed value.
        // 0 = do not unset WATCHDOG_USEC/WATCHDOG_PID.
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(clamping: usec / 2))
    }

    /// Sends one notification; returns whether it reached a listener.
    @discardableResult
    func send(_ state: String) -> Bool {
        // sd_notify(3): 0 = keep NOTIFY_SOCKET for later calls; returns > 0 when sent, 0 without NOTIFY_SOCKET,
        // and a negative errno when the send failed.
        let result = sd_notify(0, state)
        if result < 0 {
            self.logger.debug(
                "sd_notify failed",
                metadata: ["state": "\(state)", "errno": "\(-result)"]
            )
        }
        return result > 0
    }

    /// CLOCK_MONOTONIC in microseconds, the clock systemd compares `MONOTONIC_USEC=` with.
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        // clock_gettime(2) cannot fail for CLOCK_MONOTONIC with a valid pointer.
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
