import ArgumentParser
import Foundation
import Glibc
import IngestConfig
import Logging
import StorageKit
import UnixSignals

/// `ingestd`: resolves the configuration, then runs the daemon until SIGTERM/SIGINT.
@main
struct IngestDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingestd",
        abstract: "Watches a drop directory and ingests video files into managed storage.",
        discussion: """
            Configuration is read in this order, later wins: built-in defaults, the --config KEY=VALUE file, \
            the environment (only ingestd's keys), the flags below. See config/ingestd.env for every key.
            """,
        version: IngestdVersion.string
    )

    @Option(name: .long, help: "A KEY=VALUE configuration file (systemd EnvironmentFile= format).")
    var config: String?

    @Option(name: .long, help: "STORAGE_PATH: root of managed storage.")
    var storage: String?

    @Option(name: .long, help: "DROP_PATH: the watched drop directory.")
    var drop: String?

    @Option(name: .long, help: "CONTROL_SOCKET: the control socket path.")
    var socket: String?

    /// The `--config` file's assignments now (empty without a file or when it cannot be parsed).
    func configFileValues() -> [String: String] {
        guard let config, let text = try? String(contentsOfFile: config, encoding: .utf8),
            let entries = try? EnvironmentFile.parse(text, origin: config)
        else { return [:] }
        return Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    }

    /// Values given as flags, by the key they set.
    var flagValues: [ConfigKey: String] {
        var flags: [ConfigKey: String] = [:]
        flags[.storagePath] = storage
        flags[.dropPath] = drop
        flags[.controlSocket] = socket
        return flags
    }

    func run() async throws {
        // Trapped before anything else, the configuration's reading included: a SIGHUP sent at once after the
        // start (a reload racing the start) must not kill the process with its default action, and a stop
        // signal during recovery is handled once the services run, never lost.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        // Writes to a vanished peer must fail with EPIPE, not kill us; a lease break must not either.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGIO, SIG_IGN)
        let configuration: IngestConfiguration
        do {
            configuration = try loadConfiguration()
        } catch {
            FileHandle.standardError.write(Data("ingestd: configuration error: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG: RestartPreventExitStatus=78 keeps systemd from looping.
        }
        // Values systemd copied from this same file into the environment (EnvironmentFile=) are frozen there;
        // on reload they must not outrank what the file says now.
        let startupFileValues = configFileValues()
        let runner = DaemonRunner(
            configuration: configuration,
            signals: signals,
            loadConfiguration: { try loadConfiguration(environmentCopiedFrom: startupFileValues) }
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runner.run() }
            group.addTask { await Self.exitIfTheStopHangs(runner.stops) }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The one place the process is ended other than by returning: when a stop hangs (a client that stopped
    /// reading a download, a call waiting for a lost catalog), 3 s after a second stop signal or 28 s after the
    /// first — before systemd's `TimeoutStopSec=30` would SIGKILL. Every step that moves a file is journalled,
    /// so the next start recovers whatever was cut.
    static func exitIfTheStopHangs(_ stops: StopRequests) async {
        await stops.requested.wait()
        guard !Task.isCancelled else { return }
        let secondSignal = await withTimeLimit(.seconds(28)) { await stops.cutShort.wait() }
        guard !Task.isCancelled else { return }
        if secondSignal {
            try? await Task.sleep(for: .seconds(3))
            guard !Task.isCancelled else { return }
        }
        Logger(label: "ingestd").warning(
            "the stop did not finish in time; exiting now, interrupted work is recovered at the next start"
        )
        Glibc.exit(0)
    }

    /// Defaults < --config file < environment < flags; also refuses what this build cannot do.
    ///
    /// `environmentCopiedFrom` holds the `--config` file's values as they were at start: an environment
    /// variable still equal to one of them came from the file through systemd's `EnvironmentFile=` and gives
    /// way to the file's current value.
    func loadConfiguration(environmentCopiedFrom fileValues: [String: String] = [:]) throws -> IngestConfiguration {
        let environment = ProcessInfo.processInfo.environment.filter { key, value in fileValues[key] != value }
        let resolved = try IngestConfiguration.load(configFile: config, environment: environment, flags: flagValues)
        /// Where the value of `key` came from, as the loader's own messages say it.
        func origin(of key: ConfigKey) -> String {
            if flagValues[key] != nil { return "command line" }
            if environment[key.rawValue] != nil { return "environment" }
            return config ?? "configuration"
        }
        if let group = resolved.controlSocketGroup, UInt32(group) == nil, getgrnam(group) == nil {
            throw ConfigurationError(
                key: ConfigKey.controlSocketGroup.rawValue,
                value: group,
                allowed: "expected an existing group name or a numeric gid",
                origin: origin(of: .controlSocketGroup)
            )
        }
        try ConfiguredPaths(origin: origin).check(resolved)
        let unreadable = resolved.allowedExtensions.filter { !MediaFormats.isContainerExtension($0) }
        if !unreadable.isEmpty {
            throw ConfigurationError(
                key: ConfigKey.allowedExtensions.rawValue,
                value: resolved.allowedExtensions.joined(separator: ","),
                allowed: "extensions of containers FFmpeg reads (mp4, mov, avi, mkv, webm, ts, …); "
                    + unreadable.joined(separator: ", ") + (unreadable.count == 1 ? " is not one" : " are not"),
                origin: origin(of: .allowedExtensions)
            )
        }
        return resolved
    }
}
