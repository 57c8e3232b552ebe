import NIOPosix
import Synchronization

/// The one place the daemon's services run blocking work: catalog calls, file-system looks and walks, and the
/// ingest of a dropped file, an upload or a retried file — never on an actor's executor or the cooperative
/// pool. A PostgreSQL write waits up to `PostgresBackend.writeWait` for a lost server; two such waits on the
/// cooperative pool of a 2-core machine would stop the whole daemon, `/health` included. (Decoders and
/// encoders keep pools of their own, sized by `FFMPEG_THREADS`, so a long encode never holds a catalog call up.)
struct BlockingThreads: Sendable {
    private let threads: NIOThreadPool

    /// Starts `count` threads that live as long as the process.
    init(count: Int) {
        threads = NIOThreadPool(numberOfThreads: count)
        threads.start()
    }

    /// Runs `body` on one of the threads; the caller is suspended, not blocked, while it waits.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.runIfActive(body)
    }

    /// Like `run`, but a cancelled caller stops waiting at once (throwing `CancellationError`) and `body`'s
    /// result is dropped when it ends. For work whose end a stop may abandon because it is journalled (an
    /// ingest): a second stop signal must not wait for a file that is still being hashed.
    func runUnlessCancelled<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        // Decided to stop already: the work is not even started.
        try Task.checkCancellation()
        let answer = OneAnswer<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                answer.install(continuation)
                threads.submit { state in
                    guard case .active = state else {
                        answer.give(.failure(CancellationError()))
                        return
                    }
                    // Cancelled while it waited for a thread: the caller has its answer, the work never starts.
                    guard !answer.isGiven else { return }
                    answer.give(Result { try body() })
                }
            }
        } onCancel: {
            answer.give(.failure(CancellationError()))
        }
    }
}

/// The first of several possible answers, given to a continuation exactly once whichever comes first.
private final class OneAnswer<T: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<T, any Error>?)
        case answered(Result<T, any Error>?)
    }

    private let state = Mutex(State.waiting(nil))

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { s -> Result<T, any Error>? in
            switch s {
            case .waiting:
                s = .waiting(continuation)
                return nil
            case .answered(let result):
                s = .answered(nil)
                return result
            }
        }
        if let early { continuation.resume(with: early) }
    }

    /// Whether an answer was given already (the continuation resumed, or waiting to be installed).
    var isGiven: Bool {
        state.withLock { s in
            if case .answered = s { return true }
            return false
        }
    }

    func give(_ result: Result<T, any Error>) {
        let continuation = state.withLock { s -> CheckedContinuation<T, any Error>? in
            guard case .waiting(let c) = s else { return nil }
            s = .answered(c == nil ? result : nil)
            return c
        }
        continuation?.resume(with: result)
    }
}
