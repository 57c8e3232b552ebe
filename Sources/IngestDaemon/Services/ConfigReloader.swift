import IngestConfig
import Logging

/// SIGHUP re-reads the configuration: keys that apply live take effect for later files, the others keep their
/// running value until a restart (and the log says which); a bad configuration is refused and the old one
/// stays.
struct ConfigReloader: Sendable {
    let context: DaemonContext
    let notifier: SystemdNotifier
    let logger: Logger
    /// Reads the file, the environment and the original flags again.
    let load: @Sendable () throws -> IngestConfiguration

    /// One reload. The file is read on the blocking threads: a file that blocks (a FIFO, a hung network
    /// mount) holds this reload, not the signals behind it.
    func reload() async {
        notifier.reloading()
        defer { notifier.ready() }
        let new: IngestConfiguration
        do {
            new = try await context.blocking.run(load)
        } catch {
            logger.error("reload refused, keeping the running configuration: \(error)")
            return
        }
        let (applied, needRestart) = new.applyingLive(over: context.config.current)
        context.config.replace(with: applied)
        LoggingBootstrap.setLevel(Logger.Level(applied.logLevel))
        if needRestart.isEmpty {
            logger.notice("configuration reloaded")
        } else {
            logger.warning(
                "configuration reloaded; these keys need a restart to change: \(needRestart.map(\.rawValue).joined(separator: ", "))"
            )
        }
    }
}
