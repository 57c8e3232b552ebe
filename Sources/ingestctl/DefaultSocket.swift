import IngestConfig

#if canImport(Glibc)
import Glibc
#endif

/// Where `ingestctl` looks for the daemon when neither `--socket` nor `CONTROL_SOCKET` (environment or `--config`
/// file) names the socket: the places the daemon itself binds or is handed its socket by default, first the ones
/// of the shipped systemd units, so that a daemon started by them is found without options.
enum DefaultSocket {
    /// The socket `systemd/ingestd.socket` listens on, and `$RUNTIME_DIRECTORY/control.sock` of `ingestd.service`
    /// (`RuntimeDirectory=ingestd`).
    static let systemd = "/run/ingestd/control.sock"

    /// In order, without repeats: `$RUNTIME_DIRECTORY/control.sock` when `RUNTIME_DIRECTORY` is set,
    /// `/run/ingestd/control.sock`, `STORAGE_PATH/ingestd.sock`.
    static func candidates(_ config: IngestConfiguration) -> [String] {
        var withoutRuntime = config
        withoutRuntime.controlSocket = nil
        withoutRuntime.runtimeDirectory = nil
        var out: [String] = []
        if let runtime = config.runtimeDirectory, !runtime.isEmpty {
            var underSystemd = withoutRuntime
            underSystemd.runtimeDirectory = runtime
            out.append(underSystemd.controlSocketPath)
        }
        for path in [systemd, withoutRuntime.controlSocketPath] where !out.contains(path) { out.append(path) }
        return out
    }

    /// The first of `candidates` for which `exists` is true (a file of any kind: connecting to it then says what is
    /// wrong with it), or `nil`.
    static func first(of candidates: [String], exists: (String) -> Bool = DefaultSocket.exists) -> String? {
        candidates.first(where: exists)
    }

    /// Whether anything is at `path` (not following a last symlink).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Exit 3 when no candidate exists, naming every path tried.
    static func noneFound(_ candidates: [String]) -> CtlFailure {
        let list =
            candidates.count > 1
            ? candidates.dropLast().joined(separator: ", ") + " or " + candidates.last! : candidates.joined()
        return .unreachable(list, "no socket at any of these paths (tried in this order)")
    }
}
