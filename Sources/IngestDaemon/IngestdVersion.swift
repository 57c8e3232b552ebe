/// The daemon's version, reported by `--version` and `/health`.
enum IngestdVersion {
    static let string = "0.1.0"
}
