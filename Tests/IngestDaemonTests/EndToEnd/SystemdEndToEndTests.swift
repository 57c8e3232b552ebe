import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The daemon against real peers of the systemd protocols (no systemd runs as PID 1 here).
@Suite(.timeLimit(.minutes(4)))
struct SystemdEndToEndTests {
    @Test func readyComesOnlyOnceTheSocketAnswersThenWatchdogStatusAndStopping() async throws {
        let listener = try NotifyListener()
        let h = try DaemonHarness(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "400000"])
        defer { h.remove() }
        try await h.start(waitForHealth: false)
        var ready = false
        var seen: [String] = []
        for _ in 0..<100 where !ready {
            let messages = await listener.collect(for: .milliseconds(200))
            seen += messages.map(\.message)
            ready = messages.contains { $0.message.split(separator: "\n").contains("READY=1") }
        }
        #expect(ready, "no READY=1")
        // READY=1 promises a working socket.
        #expect(try await h.request("GET", "/health").status == 200)
        let window = await listener.collect(for: .milliseconds(1500))
        let pings = window.filter { $0.message.contains("WATCHDOG=1") }
        // WATCHDOG_USEC=400 ms: a ping about every 200 ms. Pings that queued up while the test itself waited for
        // a core arrive together (gap ≈ 0) and say nothing of the pace, so the pace is read from the others.
        let gaps = zip(pings.dropFirst(), pings).map { later, earlier in
            let d = (later.at - earlier.at).components
            return Double(d.seconds) * 1000 + Double(d.attoseconds) / 1e15
        }
        let paced = gaps.filter { $0 > 20 }.sorted()
        #expect(paced.count >= 3, "too few watchdog pings: gaps \(gaps) ms")
        if !paced.isEmpty {
            #expect((120.0...320.0).contains(paced[paced.count / 2]), "watchdog pace off: gaps \(gaps) ms")
        }
        let statuses = (seen + window.map(\.message)).flatMap { $0.split(separator: "\n") }.filter {
            $0.hasPrefix("STATUS=")
        }
        #expect(
            statuses.contains { $0.contains("ingested") && $0.contains("queues") },
            "no STATUS= line with figures: \(statuses)"
        )
        kill(h.process!.pid, SIGTERM)
        let after = await listener.collect(for: .seconds(2))
        #expect(after.contains { $0.message.split(separator: "\n").contains("STOPPING=1") })
        #expect(try await h.stop() == 0)
    }

    @Test func sighupChangesThumbnailWidthForTheNextFileAndRefusesABrokenFile() async throws {
        // As under systemd's EnvironmentFile=: the file's values are also in the environment at start.
        let h = try DaemonHarness(environment: ["THUMBNAIL_WIDTH": "320"])
        defer { h.remove() }
        let config = h.root + "/ingestd.env"
        try "THUMBNAIL_WIDTH=320\n".write(toFile: config, atomically: true, encoding: .utf8)
        try await h.start(extraArguments: ["--config", config])
        let clips = try await TestClips.distinctMP4s(3, into: h.root + "/clips")
        try h.drop(clips[0], as: "w/first.mp4")
        try await waitUntil("the first thumbnail exists") {
            try await h.assets("w").first?["thumbnail_path"] as? String != nil
        }

        try "THUMBNAIL_WIDTH=160\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(h.process!.pid, SIGHUP)
        try await waitUntil("the reload is logged") { h.log.contains("configuration reloaded") }
        try h.drop(clips[1], as: "w/second.mp4")
        try await waitUntil("the second thumbnail exists") {
            try await h.assets("w").filter { $0["thumbnail_path"] as? String != nil }.count == 2
        }

        try "THUMBNAIL_WIDTH=lots\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(h.process!.pid, SIGHUP)
        try await waitUntil("the refusal is logged") { h.log.contains("reload refused") }
        #expect(h.log.contains("THUMBNAIL_WIDTH=lots"))
        try h.drop(clips[2], as: "w/third.mp4")
        try await waitUntil("the third thumbnail exists") {
            try await h.assets("w").filter { $0["thumbnail_path"] as? String != nil }.count == 3
        }
        var widths: [String: Int] = [:]
        for asset in try await h.assets("w") {
            let thumb = try #require(asset["thumbnail_path"] as? String)
            widths[asset["original_filename"] as? String ?? ""] = try Self.jpegWidth(h.storage + "/" + thumb)
        }
        #expect(widths == ["first.mp4": 320, "second.mp4": 160, "third.mp4": 160])
        #expect(try await h.stop() == 0)
    }

    /// Answers every read of the FIFO `path` with `line` until cancelled: each time the daemon opens it for
    /// reading (a writer can then open it without blocking), `line` is written and the writing end closed.
    static func answerEveryRead(of path: String, with line: [UInt8]) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                let writer = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
                if writer >= 0 {
                    _ = write(writer, line, line.count)
                    close(writer)
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// A reload sent at once after the start (a package's post-install `systemctl reload` racing the start) must
    /// not kill the daemon: SIGHUP's default action ends a process. The configuration file is a FIFO, so the
    /// daemon is held in reading it, deterministically, while the signal arrives (it died with 129 before).
    @Test func aSighupWhileTheConfigurationIsReadDoesNotKillTheDaemon() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        let config = h.root + "/ingestd.env"
        #expect(mkfifo(config, 0o600) == 0)
        // A daemon that died leaves the FIFO without a reader: the write must fail, not kill the test runner.
        signal(SIGPIPE, SIG_IGN)
        try await h.start(extraArguments: ["--config", config], waitForHealth: false)
        let pid = h.process!.pid
        let line = Array("THUMBNAIL_WIDTH=160\n".utf8)
        // The writing end opens (without blocking) once the daemon is in reading the FIFO.
        var first: Int32 = -1
        try await waitUntil("the daemon opens its configuration") {
            first = open(config, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            return first >= 0
        }
        kill(pid, SIGHUP)
        try await Task.sleep(for: .milliseconds(200))
        #expect(write(first, line, line.count) == line.count)
        close(first)
        // From now on every read of the file (the start reads it twice, a reload again) is answered at once.
        let feeder = Self.answerEveryRead(of: config, with: line)
        defer { feeder.cancel() }
        // The signal was kept, not lost: once running, the daemon reloads.
        try await waitUntil("the reload is logged") { h.log.contains("configuration reloaded") }
        #expect((try await h.request("GET", "/health")).status == 200)
        #expect(try await h.stop() == 0)
    }

    /// A reload whose file blocks (here a FIFO nobody writes to; in life a hung network mount) does not hold
    /// the signals behind it: SIGTERM still stops the daemon at once (it waited for the read before).
    @Test func aStopIsHeardWhileAReloadWaitsForTheFile() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        let config = h.root + "/ingestd.env"
        #expect(mkfifo(config, 0o600) == 0)
        signal(SIGPIPE, SIG_IGN)
        let line = Array("THUMBNAIL_WIDTH=160\n".utf8)
        // The start reads the file (twice): answered until the daemon is up.
        let feeder = Self.answerEveryRead(of: config, with: line)
        try await h.start(extraArguments: ["--config", config])
        feeder.cancel()
        _ = await feeder.value
        let pid = h.process!.pid
        kill(pid, SIGHUP)
        // The reload opens the file: a writer that holds it open and writes nothing keeps it reading.
        var writer: Int32 = -1
        try await waitUntil("the reload opens the file") {
            writer = open(config, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            return writer >= 0
        }
        defer { close(writer) }
        let clock = ContinuousClock()
        let started = clock.now
        #expect(try await h.stop(timeout: .seconds(10)) == 0)
        #expect(clock.now - started < .seconds(5))
    }

    @Test func socketActivationServesOnTheHandedOverSocket() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        let socket = h.root + "/activated.sock"
        // posix_spawn, not Foundation's Process: systemd-socket-activate execs ingestd on the first connection,
        // and Foundation takes that exec for an exit and blocks its monitor thread in wait4 until the real exit.
        let pid = try spawn(
            "/usr/bin/systemd-socket-activate",
            ["-l", socket, "-E", "MIN_FREE_BYTES=0", DaemonHarness.ingestd, "--drop", h.drop, "--storage", h.storage],
            log: h.logPath
        )
        defer {
            kill(pid, SIGKILL)
            _ = waitExit(pid)
        }
        try await waitUntil("the activation socket exists") { FileManager.default.fileExists(atPath: socket) }
        let out = try DaemonHarness.run(
            "/usr/bin/curl",
            ["-s", "--max-time", "10", "--unix-socket", socket, "http://localhost/health"]
        )
        let health = try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any]
        #expect(health?["status"] as? String == "ok")
        // The daemon did not bind a socket of its own.
        #expect(!FileManager.default.fileExists(atPath: h.storage + "/ingestd.sock"))
        kill(pid, SIGTERM)
        #expect(waitExit(pid) == 0)
    }

    /// Starts `path` with `arguments` (stdout and stderr to `log`) and returns its pid.
    private func spawn(_ path: String, _ arguments: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw DaemonHarness.Failure(description: "posix_spawn \(path): \(rc)") }
        return pid
    }

    /// Waits for `pid` to exit; its exit status, or -1.
    private func waitExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
    }

    @Test func sigtermDuringABurstExitsInTimeWithNothingLost() async throws {
        let h = try DaemonHarness(settleMS: 50)
        defer { h.remove() }
        let clips = try await TestClips.distinctMP4s(40, into: h.root + "/clips")
        try await h.start()
        for (i, clip) in clips.enumerated() {
            try h.drop(clip, as: "t/c\(i).mp4")
        }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        #expect(try await h.stop(signal: SIGTERM) == 0)
        #expect(ContinuousClock.now - start < .seconds(25))
        // Every clip is either stored with a ready record or still in the drop; after a restart all are stored.
        try await h.start()
        try await waitUntil("all clips stored", timeout: .seconds(60)) { try await h.assets("t").count == 40 }
        #expect(h.files(in: "drop").isEmpty)
        #expect(h.files(in: "storage/uploads/project_t").count == 40)
        #expect(try await h.stop() == 0)
    }

    static func jpegWidth(_ path: String) throws -> Int {
        let out = try DaemonHarness.run(
            "/usr/bin/ffprobe",
            ["-v", "error", "-show_entries", "stream=width", "-of", "csv=p=0", path]
        )
        return Int(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}
