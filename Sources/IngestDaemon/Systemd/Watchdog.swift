import Logging
import Synchronization

/// Sends `WATCHDOG=1` every `interval`, but only after `isAlive` has answered `true` within `probeTimeout`.
///
/// Each tick starts a liveness probe (the daemon pings its pipeline actors through it). When the probe answers
/// `true` in time the ping goes out; when it answers `false` or not at all, the ping is skipped and a warning is
/// logged, so systemd restarts a wedged daemon after `WatchdogSec`. A probe that has not answered is not started
/// again: later ticks keep waiting for the same one, and the pings resume once it answers.
///
/// Two pings are at most `interval + probeTimeout` apart. With `interval` = half of `WATCHDOG_USEC`
/// (``SystemdNotifier/watchdogInterval``) and the default `probeTimeout` of half the interval that is ¾ of
/// `WatchdogSec`, which leaves systemd's deadline a margin.
///
/// Returns when the calling task is cancelled (e.g. wrap it in `cancelWhenGracefullyShutdown` or run it in a
/// service's task group that the daemon cancels last, so that pings keep flowing during a drain).
///
/// - Parameters:
///   - notifier: where `WATCHDOG=1` goes.
///   - interval: time between ticks.
///   - probeTimeout: how long one probe may take; nil means `interval / 2`.
///   - logger: reports skipped and resumed pings.
///   - isAlive: the liveness probe.
func runWatchdog(
    notifier: SystemdNotifier,
    interval: Duration,
    probeTimeout: Duration? = nil,
    logger: Logger,
    isAlive: @escaping @Sendable () async -> Bool
) async {
    let timeout = probeTimeout ?? interval / 2
    let clock = ContinuousClock()
    var outstanding: Task<Bool, Never>?
    var skipped = 0
    var tick = clock.now
    while !Task.isCancelled {
        let probe = outstanding ?? Task { await isAlive() }
        let answer = await WatchdogProbe.answer(of: probe, within: timeout)
        if Task.isCancelled { break }
        switch answer {
        case .some(true):
            outstanding = nil
            notifier.watchdog()
            if skipped > 0 {
                logger.notice("Pipeline answers again; watchdog pings resumed", metadata: ["skipped": "\(skipped)"])
                skipped = 0
            }
        case .some(false):
            outstanding = nil
            skipped += 1
            logger.warning("Pipeline reports it is not alive; skipping WATCHDOG=1", metadata: ["skipped": "\(skipped)"])
        case .none:
            outstanding = probe
            skipped += 1
            logger.warning(
                "Pipeline did not answer the liveness probe in time; skipping WATCHDOG=1",
                metadata: ["timeout": "\(timeout)", "skipped": "\(skipped)"]
            )
        }
        tick = tick + interval
        if tick < clock.now {
            // A tick was missed (a suspended process, a very slow probe): restart the schedule from now.
            tick = clock.now
        }
        do {
            try await Task.sleep(until: tick, clock: clock)
        } catch {
            break
        }
    }
    outstanding?.cancel()
}

/// Waits for a probe's answer with a deadline, without being held up by a probe that never returns.
///
/// A task group would wait for its children on exit, so a wedged probe would wedge the watchdog too; the probe
/// therefore runs as its own task and the first of "answered", "timed out" and "cancelled" resumes the waiter.
enum WatchdogProbe {
    /// One continuation that is resumed exactly once, by whichever event comes first.
    private final class OneShot: Sendable {
        private enum State {
            case idle
            case waiting(CheckedContinuation<Bool?, Never>)
            case finished(Bool?)
            case consumed
        }
        private let state = Mutex(State.idle)

        /// Registers the waiter; resumes it at once if the result is already known.
        func wait(_ continuation: CheckedContinuation<Bool?, Never>) {
            let early: Bool?? = self.state.withLock { state in
                if case .finished(let value) = state {
                    state = .consumed
                    return .some(value)
                }
                state = .waiting(continuation)
                return .none
            }
            if let early {
                continuation.resume(returning: early)
            }
        }

        /// Delivers `value` if nothing was delivered before.
        func finish(_ value: Bool?) {
            let waiter: CheckedContinuation<Bool?, Never>? = self.state.withLock { state in
                switch state {
                case .idle:
                    state = .finished(value)
                    return nil
                case .waiting(let continuation):
                    state = .consumed
                    return continuation
                case .finished, .consumed:
                    return nil
                }
            }
            waiter?.resume(returning: value)
        }
    }

    /// The probe's answer, or nil when it did not come within `timeout` or the caller was cancelled.
    static func answer(of probe: Task<Bool, Never>, within timeout: Duration) async -> Bool? {
        let shot = OneShot()
        let timer = Task {
            try? await Task.sleep(for: timeout)
            shot.finish(nil)
        }
        defer { timer.cancel() }
        // Waits for the probe outside any group; ends when the probe does (it is not cancelled on a timeout).
        Task { shot.finish(await probe.value) }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { shot.wait($0) }
        } onCancel: {
            shot.finish(nil)
        }
    }
}
