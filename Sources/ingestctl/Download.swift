import ArgumentParser
import IngestConfig

#if canImport(Glibc)
import Glibc
#endif

extension IngestCtl {
    /// `ingestctl download PROJECT ASSET [--rendition NAME] [-o FILE]`.
    ///
    /// The bytes go to `FILE.part` first, and `FILE` appears (by rename) only once all of them are there, so
    /// `FILE` is never a partial copy. Beside the part file, `FILE.part.etag` keeps the ETag of what is being
    /// downloaded. When both exist, the next run asks only for the rest (`Range: bytes=N-` with `If-Range: <etag>`):
    /// if the file on the daemon is still the same it answers 206 and the rest is appended; if it changed it
    /// answers 200 and the download starts over. `-o -` writes to standard output (no resuming).
    struct Download: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download an asset's stored file, or one of its renditions.",
            discussion: """
                Without -o the file is saved in the current folder under its original name (a rendition as \
                <name>-<rendition>.<ext>), never over an existing file (exit 2: pick a name with -o FILE, which \
                replaces a file of that name); -o - writes to standard output. An interrupted download leaves \
                FILE.part; running the same command again resumes it if the file on the daemon has not changed.
                """
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var named: AssetArguments
        @Option(help: "A rendition's name (e.g. 720p) instead of the stored file.") var rendition: String?
        @Option(
            name: [.customShort("o"), .customLong("output")],
            help: "Where to save it: a file, a folder, or - for stdout."
        )
        var output: String?

        func validate() throws {
            let asset = named.asset
            if asset.isEmpty || asset.contains("/") { throw ValidationError("'\(asset)' is not an asset id") }
            if let rendition, rendition.isEmpty || rendition.contains("/") || rendition.hasPrefix(".") {
                throw ValidationError("'\(rendition)' is not a rendition name (e.g. 720p)")
            }
            if output?.isEmpty == true { throw ValidationError("-o needs a file name, a folder, or - for stdout") }
        }

        func run() throws {
            let (project, asset) = (named.project, named.asset)
            let record = try global.call("GET", named.path)
            guard let value = JSONValue.parse(record.body) else {
                throw CtlFailure(exitCode: 1, message: "ingestctl: the daemon's record of \(asset) is not JSON")
            }
            let target: String
            let defaultName: String
            if let rendition {
                let listed = value["renditions"]?.array ?? []
                guard let entry = listed.first(where: { $0["name"]?.text == rendition }) else {
                    let have = listed.compactMap { $0["name"]?.text }
                    throw CtlFailure(
                        exitCode: 1,
                        message: "ingestctl: asset \(asset) of project \(project) has no rendition \(rendition)"
                            + (have.isEmpty ? " (none is made yet)" : " (it has \(have.joined(separator: ", ")))")
                    )
                }
                target = named.path + "/renditions/\(percentEncode(rendition))"
                let ext = DownloadNaming.fileExtension(of: entry["relative_path"]?.text ?? "")
                defaultName = DownloadNaming.stem(of: DownloadNaming.baseName(value)) + "-" + rendition + ext
            } else {
                target = named.path + "/content"
                defaultName = DownloadNaming.baseName(value)
            }
            let socket = try global.socketPath()
            if output == "-" {
                _ = try Transfer(socket: socket, target: target, label: defaultName).toStandardOutput()
                return
            }
            let path = DownloadNaming.outputPath(output, defaultName: defaultName)
            // `-o FILE` names the file and may replace it; a name ingestctl chose (no -o, or -o a folder) may not.
            let replace = output == path
            try DownloadNaming.checkTarget(path, replace: replace)
            let result = try Transfer(socket: socket, target: target, label: defaultName).toFile(path, replace: replace)
            if global.json {
                print(
                    "{\"project_id\":\"\(project)\",\"asset_id\":\(JSONText.quoted(asset)),\"path\":\(JSONText.quoted(path)),"
                        + "\"bytes\":\(result.total),\"resumed_from\":\(result.resumedFrom)}"
                )
            } else {
                let resumed = result.resumedFrom > 0 ? " (resumed at \(Render.size(result.resumedFrom)))" : ""
                print("saved \(path) (\(Render.size(result.total)))\(resumed)")
            }
        }
    }
}

/// Names of downloaded files.
enum DownloadNaming {
    /// The record's `original_filename` as one safe file name (its last path component), else its `filename`.
    static func baseName(_ record: JSONValue) -> String {
        for key in ["original_filename", "filename"] {
            let name = String((record[key]?.text ?? "").split(separator: "/").last ?? "")
            if !name.isEmpty, name != ".", name != "..", !name.contains("\0") { return name }
        }
        return "download"
    }

    /// `name` without its last extension.
    static func stem(of name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    /// `.mp4` of `processed/…/720p.mp4`; empty when there is none.
    static func fileExtension(of path: String) -> String {
        let last = path.split(separator: "/").last.map(String.init) ?? ""
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return "" }
        return String(last[dot...])
    }

    /// Refuses, before anything is written, a `path` whose folder does not exist, and an existing `path` unless
    /// `replace`: without `-o FILE` the name is ingestctl's choice, and a file of that name is someone's. A cut
    /// download is not in the way: it is `path.part` (with `path.part.etag`), and `path` appears only at its end.
    ///
    /// Both are exit code 2, a usage error: the daemon refused nothing (1) and was reached (3); the command line
    /// has to change (another `-o`), as for the other checks of the arguments against this machine.
    static func checkTarget(_ path: String, replace: Bool) throws {
        let folder = path.contains("/") ? String(path[...path.lastIndex(of: "/")!]) : "."
        var st = stat()
        if stat(folder, &st) != 0 {
            let why = errno == ENOENT ? "does not exist" : "cannot be read (\(String(cString: strerror(errno))))"
            throw CtlFailure(exitCode: 2, message: "ingestctl: cannot save \(path): the folder \(folder) \(why)")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw CtlFailure(exitCode: 2, message: "ingestctl: cannot save \(path): \(folder) is not a folder")
        }
        if !replace, lstat(path, &st) == 0 {
            throw CtlFailure(exitCode: 2, message: alreadyExists(path))
        }
    }

    static func alreadyExists(_ path: String) -> String {
        "ingestctl: \(path) already exists and is left as it is; nothing was downloaded. Save under another name "
            + "with -o FILE, or remove \(path) first (-o \(path) replaces it)"
    }

    /// `-o` as given (inside it when it is a folder), or `defaultName` in the current folder.
    static func outputPath(_ output: String?, defaultName: String) -> String {
        guard let output else { return defaultName }
        var st = stat()
        if output.hasSuffix("/") || (stat(output, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR) {
            return (output.hasSuffix("/") ? output : output + "/") + defaultName
        }
        return output
    }
}
