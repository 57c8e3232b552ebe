import ArgumentParser
import IngestConfig

#if canImport(Glibc)
import Glibc
#endif

/// `ingestctl`: the command-line client of ingestd's control socket.
///
/// Exit codes: 0 success, 1 the daemon refused (HTTP ≥ 400), 2 usage errors, 3 the daemon cannot be reached.
@main
struct IngestCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingestctl",
        abstract: "Talk to ingestd over its control socket.",
        discussion: "Exit codes: 0 success, 1 the daemon refused, 2 usage error, 3 the daemon cannot be reached.",
        subcommands: [
            Health.self, Projects.self, Stats.self, List.self, Show.self, Upload.self, Download.self, Delete.self,
            Purge.self, Rescan.self, Repair.self, Rejected.self, Retry.self, Events.self,
        ]
    )

    /// No command given: the usage, and exit 2 (a usage error).
    mutating func run() throws {
        writeStderr(Self.helpMessage() + "\n")
        throw CtlFailure(exitCode: 2, message: "ingestctl: a command is needed")
    }

    /// Parses, runs, and maps every failure to the documented exit codes.
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot(hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let failure as CtlFailure {
            writeStderr(failure.message + "\n")
            Glibc.exit(failure.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                writeStderr(fullMessage(for: error) + "\n")
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// The SPEC's form is `ingestctl [--socket S] [--json] COMMAND …`: global options may come before the
/// subcommand. ArgumentParser reads a subcommand's options only after its name, so those given first are
/// moved behind it (`--socket S list p` → `list --socket S p`).
///
/// They are declared once, in ``GlobalOptions``, which each subcommand pulls in with `@OptionGroup`; the root
/// command has none. So before a word that is not a subcommand (`--socket S bogus`, or `help`) they are left out:
/// the root would otherwise report them ("Unknown option '--socket'") instead of the unknown command itself.
func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
    var globals: [String] = []
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        if argument == "--json" {
            globals.append(argument)
            index += 1
        } else if argument == "--socket" || argument == "--config" {
            globals.append(argument)
            if index + 1 < arguments.count { globals.append(arguments[index + 1]) }
            index += 2
        } else if argument.hasPrefix("--socket=") || argument.hasPrefix("--config=") {
            globals.append(argument)
            index += 1
        } else {
            break
        }
    }
    // Global options and nothing else: no command, as if none were given.
    if !globals.isEmpty, index >= arguments.count { return [] }
    guard !globals.isEmpty, index < arguments.count, !arguments[index].hasPrefix("-") else { return arguments }
    guard IngestCtl.commandNames.contains(arguments[index]) else { return Array(arguments[index...]) }
    return [arguments[index]] + globals + arguments[(index + 1)...]
}

extension IngestCtl {
    /// The subcommands' names and aliases.
    static let commandNames: Set<String> = Set(
        configuration.subcommands.flatMap { [$0._commandName] + $0.configuration.aliases }
    )
}

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: """
            Control socket path (default: CONTROL_SOCKET, else the first that exists of \
            $RUNTIME_DIRECTORY/control.sock, /run/ingestd/control.sock, STORAGE_PATH/ingestd.sock).
            """
    )
    var socket: String?

    @Option(name: .long, help: "The daemon's KEY=VALUE configuration file, to find its socket.")
    var config: String?

    @Flag(name: .long, help: "Print the daemon's JSON instead of tables.")
    var json = false

    /// The socket path: `--socket`, else `CONTROL_SOCKET` from `--config` and the environment, else the first of
    /// the daemon's default places that exists (``DefaultSocket``); exit 3 naming them all when none does.
    func socketPath() throws -> String {
        if let socket { return socket }
        var environment: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { environment[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        let loaded: IngestConfiguration
        do {
            loaded = try IngestConfiguration.load(configFile: config, environment: environment)
        } catch {
            throw ValidationError("\(error)")
        }
        if loaded.controlSocket != nil { return loaded.controlSocketPath }
        let candidates = DefaultSocket.candidates(loaded)
        guard let found = DefaultSocket.first(of: candidates) else { throw DefaultSocket.noneFound(candidates) }
        return found
    }

    /// Runs one request and returns the response; HTTP ≥ 400 becomes exit 1 with the daemon's error and detail.
    func call(_ method: String, _ target: String) throws -> CtlResponse {
        let client = ControlClient(socketPath: try socketPath())
        try client.connectSocket()
        try client.sendRequest(method, target)
        return try Self.checked(client.readResponse())
    }

    /// Turns an error answer into exit code 1 with its message.
    static func checked(_ response: CtlResponse) throws -> CtlResponse {
        guard response.status >= 400 else { return response }
        let body = JSONValue.parse(response.body)
        let error = body?["error"]?.text ?? "http_\(response.status)"
        let detail = body?["detail"]?.text ?? String(decoding: response.body, as: UTF8.self)
        throw CtlFailure(exitCode: 1, message: "ingestctl: ingestd refused (\(response.status) \(error)): \(detail)")
    }

    /// Prints the raw JSON in `--json` mode, else `human(value)`.
    func output(_ response: CtlResponse, _ human: (JSONValue) -> String) {
        if json {
            print(String(decoding: response.body, as: UTF8.self))
        } else if let value = JSONValue.parse(response.body) {
            print(human(value))
        } else {
            print(String(decoding: response.body, as: UTF8.self))
        }
    }
}

/// A project id as the API accepts it; anything else is a usage error before any request.
func validateProject(_ project: String) throws {
    guard ProjectIDRule.isValid(project) else {
        throw ValidationError("'\(project)' is not a project id: use 1 to 64 characters from A-Z a-z 0-9 _ -")
    }
}

/// Writes `text` to standard error unbuffered (C's `stderr` global is not concurrency-safe in Swift 6).
func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        bytes = bytes.dropFirst(n)
    }
}
