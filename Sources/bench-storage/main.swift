// bench-storage: hand-run figures for the catalog and the statistics walk.
//
//   bench-storage catalog [--records N] [--projects P] [--batch B] [--dir D] [--memory]
//   bench-storage stats   [--files N] [--projects P] [--dir D] [--keep]
//
// Each run works in a fresh folder (default: a new one under /tmp) and removes it afterwards.
import Foundation
import StorageKit

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var values: [String: String] = [:]
    var flags: Set<String> = []

    init(_ args: ArraySlice<String>) {
        var it = args.makeIterator()
        while let a = it.next() {
            guard a.hasPrefix("--") else { fail("unexpected argument \(a)") }
            let key = String(a.dropFirst(2))
            if key == "keep" || key == "memory" {
                flags.insert(key)
                continue
            }
            guard let v = it.next() else { fail("--\(key) needs a value") }
            values[key] = v
        }
    }

    func int(_ key: String, _ fallback: Int) -> Int {
        guard let raw = values[key] else { return fallback }
        guard let v = Int(raw.replacingOccurrences(of: "_", with: "")), v > 0 else {
            fail("--\(key)=\(raw): expected a positive integer")
        }
        return v
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("bench-storage: " + message + "\n").utf8))
    exit(2)
}

func workDir(_ options: Options) -> String {
    if let d = options.values["dir"] {
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
    var template = Array("/tmp/bench-storage-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { fail("mkdtemp failed") }
    return String(cString: made)
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// Runs `body` `runs` times; returns the median and the worst time in milliseconds.
func timeRuns(_ runs: Int, _ body: () throws -> Void) rethrows -> (median: Double, max: Double) {
    let clock = ContinuousClock()
    var times: [Double] = []
    for _ in 0..<runs {
        let t = try clock.measure(body)
        times.append(seconds(t) * 1000)
    }
    times.sort()
    return (times[times.count / 2], times.last!)
}

/// CPU time this process has used (all threads), in seconds: a figure the other jobs on a
/// shared machine do not inflate the way they inflate wall-clock time.
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func fmt(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }

// MARK: catalog

func catalogBench(_ options: Options) throws {
    let records = options.int("records", 100_000)
    let projects = options.int("projects", 100)
    let batch = options.int("batch", 1_000)
    let dir = workDir(options)
    defer { if !options.flags.contains("keep") { try? FileManager.default.removeItem(atPath: dir) } }
    let layout = StorageLayout(root: dir)
    // --url postgres://… measures a PostgreSQL catalog instead (an empty database of its own).
    let catalog =
        if let url = options.values["url"] {
            try Catalog.open(url: url, layout: layout, nodeID: "bench")
        } else if options.flags.contains("memory") {
            try Catalog.inMemory()
        } else {
            try Catalog.open(layout: layout)
        }

    let base: Int64 = 1_764_000_000_000
    let metadata = MediaMetadata(
        durationSeconds: 12.5,
        formatName: "mov,mp4,m4a,3gp,3g2,mj2",
        bitRate: 1_200_000,
        width: 1280,
        height: 720,
        rotation: 0,
        videoCodec: "h264",
        frameRate: 30,
        audioCodec: "aac",
        sampleRate: 48_000,
        channels: 2
    )
    func asset(_ i: Int) -> Asset {
        let project = String(format: "p%03d", i % projects)
        let id = String(format: "%08x-0000-4000-8000-%012x", i, i)
        let hex = String(format: "%016llx", UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
        return Asset(
            id: id,
            projectID: project,
            filename: "clip-\(i).mp4",
            originalFilename: "clip \(i).mp4",
            relativePath: "uploads/project_\(project)/clip-\(hex.prefix(10))-\(i).mp4",
            checksum: String(repeating: hex, count: 4),
            sizeBytes: Int64(1_000_000 + i),
            mimeType: "video/mp4",
            status: .ready,
            thumbnailPath: "thumbnails/project_\(project)/clip-\(i).jpg",
            metadata: metadata,
            createdAt: Date(timeIntervalSince1970: Double(base + Int64(i) * 10) / 1000),
            updatedAt: Date(timeIntervalSince1970: Double(base + Int64(i) * 10 + 5) / 1000)
        )
    }

    print("catalog: \(records) records, \(projects) projects, batches of \(batch), \(catalog.location)")
    let clock = ContinuousClock()
    var insertTime = Duration.zero
    var insertCPU = 0.0
    var next = 0
    while next < records {
        let chunk = (next..<min(records, next + batch)).map(asset)
        let cpu0 = cpuSeconds()
        insertTime += try clock.measure { try catalog.insertBatch(chunk) }
        insertCPU += cpuSeconds() - cpu0
        next += chunk.count
    }
    let rate = Double(records) / seconds(insertTime)
    print(
        "  insert: \(fmt(seconds(insertTime), 3)) s wall, \(Int(rate)) inserts/s (target >= 20000);"
            + " \(fmt(insertCPU, 3)) s CPU = \(Int(Double(records) / insertCPU)) inserts per CPU-second"
    )

    let project = ProjectID(exactly: String(format: "p%03d", projects / 2))!
    let all = try catalog.list(project: project, limit: nil, after: nil)
    guard all.count > 100 else { fail("project \(project) has only \(all.count) records") }
    let cursor = all[all.count - 101].id
    var newestViaCursor: [Asset] = []
    let viaCursor = try timeRuns(201) {
        newestViaCursor = try catalog.list(project: project, limit: 100, after: cursor)
    }
    var newest: [Asset] = []
    let latest = try timeRuns(201) { newest = try catalog.latest(project: project, limit: 100) }
    let first = try timeRuns(201) { _ = try catalog.list(project: project, limit: 100, after: nil) }
    guard newest == Array(all.suffix(100)), newestViaCursor == newest else { fail("newest page mismatch") }
    let probe = all[all.count / 2]
    let dup = try timeRuns(1001) { _ = try catalog.existing(project: project, checksum: probe.checksum) }
    let get = try timeRuns(1001) { _ = try catalog.asset(id: probe.id) }
    print("  project \(project): \(all.count) records")
    print(
        "  newest page of 100 via list(after: cursor): median \(fmt(viaCursor.median, 3)) ms,"
            + " max \(fmt(viaCursor.max, 3)) ms (target < 5 ms)"
    )
    print(
        "  newest page of 100 via latest():           median \(fmt(latest.median, 3)) ms, max \(fmt(latest.max, 3)) ms"
    )
    print("  oldest page of 100 via list(after: nil):   median \(fmt(first.median, 3)) ms, max \(fmt(first.max, 3)) ms")
    print("  duplicate look-up existing(checksum):       median \(fmt(dup.median, 3)) ms")
    print("  asset(id:):                                 median \(fmt(get.median, 3)) ms")
    // `GET /events?since=0`: the newest 10,000 events read back in the event bus's pages of 500.
    let eventCount = options.int("events", 10_000)
    let appendTime = try clock.measure {
        var appended = 0
        while appended < eventCount {
            let n = min(500, eventCount - appended)
            try catalog.write { tx in
                for i in 0..<n {
                    _ = try tx.appendEvent(
                        .ingested(asset(appended + i))
                    )
                }
            }
            appended += n
        }
    }
    let since = max(0, try catalog.lastEventID() - Int64(eventCount))
    var replayed = 0
    let replay = try timeRuns(5) {
        var after = since
        replayed = 0
        while true {
            let page = try catalog.events(after: after, limit: 500)
            guard let last = page.last else { break }
            replayed += page.count
            after = last.id
        }
    }
    print(
        "  \(eventCount) events appended in \(fmt(seconds(appendTime), 3)) s; replay of \(replayed): median \(fmt(replay.median, 1)) ms"
    )
    let size = (try? FileManager.default.attributesOfItem(atPath: layout.catalogPath)[.size] as? Int) ?? 0
    print("  catalog file: \(size / 1_048_576) MiB")
}

// MARK: stats

func statsBench(_ options: Options) throws {
    let files = options.int("files", 100_000)
    let projects = options.int("projects", 100)
    let dir = workDir(options)
    defer { if !options.flags.contains("keep") { try? FileManager.default.removeItem(atPath: dir) } }
    let layout = StorageLayout(root: dir + "/storage")
    try layout.createCategoryFolders()

    // 60 % uploads, 30 % thumbnails, 10 % rejected, spread over projects; sparse files whose
    // st_size is what the statistics add up.
    var expected: [StorageCategory: (Int64, Int)] = [:]
    let clock = ContinuousClock()
    let made = try clock.measure {
        var madeFolders = Set<String>()
        for i in 0..<files {
            let category: StorageCategory = i % 10 < 6 ? .uploads : (i % 10 < 9 ? .thumbnails : .rejected)
            let project = ProjectID(exactly: String(format: "p%03d", i % projects))!
            let folder = layout.projectPath(category, project)
            if madeFolders.insert(folder).inserted {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            }
            let size = Int64((i &* 7919) % 5_000_000)
            let path = folder + "/f\(i).bin"
            let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0, ftruncate(fd, off_t(size)) == 0 else { fail("cannot create \(path): errno \(errno)") }
            close(fd)
            expected[category, default: (0, 0)].0 += size
            expected[category, default: (0, 0)].1 += 1
        }
    }
    print("stats: \(files) files in \(projects) projects made in \(fmt(seconds(made), 2)) s below \(layout.root)")

    var stats: StorageStatistics?
    let cpu0 = cpuSeconds()
    let global = try timeRuns(7) { stats = try StorageStatistics.compute(layout: layout) }
    let globalCPU = (cpuSeconds() - cpu0) / 7 * 1000
    for (category, (bytes, count)) in expected {
        let got = stats!.categories[category.rawValue]!
        guard got.bytes == bytes, got.fileCount == count else {
            fail("\(category): computed \(got.bytes) bytes / \(got.fileCount) files, made \(bytes) / \(count)")
        }
    }
    let one = try timeRuns(21) {
        _ = try StorageStatistics.compute(layout: layout, project: ProjectID(exactly: "p001")!)
    }
    let total = stats!.categories.values.reduce(0) { $0 + $1.fileCount }
    print(
        "  global statistics (\(total) files): median \(fmt(global.median)) ms, max \(fmt(global.max)) ms"
            + " (target < 300 ms); \(fmt(globalCPU)) ms CPU per run"
    )
    print("  one project's statistics:           median \(fmt(one.median)) ms")
    print("  figures equal the files made: yes")
}

let args = CommandLine.arguments.dropFirst()
guard let mode = args.first else { fail("usage: bench-storage catalog|stats [options]") }
let options = Options(args.dropFirst())
do {
    switch mode {
    case "catalog": try catalogBench(options)
    case "stats": try statsBench(options)
    default: fail("unknown mode \(mode): expected catalog or stats")
    }
} catch {
    fail("\(error)")
}
