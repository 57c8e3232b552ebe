import IngestConfig
import Testing

struct CatalogURLTests {
    @Test func sqliteAndBothPostgresForms() throws {
        #expect(try CatalogURL.parse("sqlite:") == .sqlite)
        guard
            case .postgres(let tcp) = try CatalogURL.parse(
                "postgres://ingest:pa%3Ass@db.example:6543/media?sslmode=require"
            )
        else {
            Issue.record("not postgres")
            return
        }
        #expect(tcp.user == "ingest")
        #expect(tcp.password == "pa:ss")
        #expect(tcp.host == "db.example")
        #expect(tcp.port == 6543)
        #expect(tcp.database == "media")
        #expect(tcp.sslMode == .require)
        #expect(tcp.socketPath == nil)
        guard case .postgres(let local) = try CatalogURL.parse("postgresql:///media?host=/run/postgresql&user=ingestd")
        else {
            Issue.record("not postgres")
            return
        }
        #expect(local.socketPath == "/run/postgresql/.s.PGSQL.5432")
        #expect(local.user == "ingestd")
        #expect(local.sslMode == .disable)
        guard case .postgres(let defaults) = try CatalogURL.parse("postgres://u@h/d") else { return }
        #expect(defaults.port == 5432)
        #expect(defaults.sslMode == .prefer)
    }

    @Test(arguments: [
        "postgres://u:topsecret@h:notaport/d", "postgres://u:topsecret@h/", "postgres://u:topsecret@h/d?sslmode=maybe",
        "postgres://u:topsecret@h/d?colour=blue", "mysql://u:topsecret@h/d",
        "postgres:///d?host=/run/postgresql&password=topsecret&sslmode=require",
        // An IPv6 address without its closing bracket, or with text after it (audit: accepted, failed at connect).
        "postgres://u:topsecret@[::1/d", "postgres://u:topsecret@[::1]x/d",
    ])
    func badURLsAreRefusedWithoutThePassword(_ url: String) {
        do {
            _ = try CatalogURL.parse(url)
            Issue.record("accepted \(url)")
        } catch {
            #expect(!error.description.contains("topsecret"), "\(error)")
        }
        var config = IngestConfiguration()
        do {
            try config.set(.catalogURL, url, origin: "environment")
            Issue.record("configuration accepted \(url)")
        } catch {
            #expect(!"\(error)".contains("topsecret"), "\(error)")
        }
    }

    @Test func redactionTakesOutEveryPassword() {
        #expect(CatalogURL.redact("postgres://u:p@h:1/d") == "postgres://u@h:1/d")
        #expect(CatalogURL.redact("postgres://u@h/d?password=p&sslmode=require") == "postgres://u@h/d?sslmode=require")
        #expect(CatalogURL.redact("postgres://:p@h/d") == "postgres://@h/d")
        #expect(CatalogURL.redact("sqlite:") == "sqlite:")
    }
}
