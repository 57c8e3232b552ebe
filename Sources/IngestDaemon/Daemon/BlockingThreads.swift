import NIOPosix

/// The one place the daemon's services run blocking work: catalog calls, file-system walks and the ingest of
/// an upload or a retried file — never on an actor's executor or the cooperative pool. A PostgreSQL write
/// waits up to `PostgresBackend.writeWait` for a lost server; two such waits on the cooperative pool of a
/// 2-core machine would stop the whole daemon, `/health` included. (Decoders and encoders keep pools of their
/// own, sized by `FFMPEG_THREADS`, so a long encode never holds a catalog call up.)
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
}
