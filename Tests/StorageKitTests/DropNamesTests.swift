import StorageKit
import Testing

/// SPEC "The drop directory": names that are ignored until renamed, and whatever lies below folders so named.
struct DropNamesTests {
    @Test func hiddenAndTemporaryNamesAreIgnored() {
        for name in [".x.mp4", "a.mp4.part", "a.MP4.CRDOWNLOAD", "a.mp4~", "a.tmp", ""] {
            #expect(DropNames.isIgnored(Array(name.utf8)), "\(name)")
        }
        for name in ["a.mp4", "a.partial.mp4", "tmp", "x.part1"] {
            #expect(!DropNames.isIgnored(Array(name.utf8)), "\(name)")
        }
    }

    @Test func aPathBelowAHiddenOrTemporaryFolderIsIgnored() {
        let root = RawPath("/srv/drop")
        for path in [
            "/srv/drop/p/.rsync-partial/clip.mp4", "/srv/drop/.hidden/h.mp4", "/srv/drop/p/.git/objects/x.mp4",
            "/srv/drop/p/incoming.tmp/y.mp4", "/srv/drop/p/a/b.part/c.mp4", "/srv/drop/p/.x.mp4",
        ] {
            #expect(DropNames.isIgnored(RawPath(path), below: root), "\(path)")
        }
        for path in ["/srv/drop/p/clip.mp4", "/srv/drop/clip.mp4", "/srv/drop/p/q/r/clip.mp4"] {
            #expect(!DropNames.isIgnored(RawPath(path), below: root), "\(path)")
        }
        // The root's own name does not count (a drop folder may itself be called `.drop`).
        #expect(!DropNames.isIgnored(RawPath("/srv/.drop/p/a.mp4"), below: RawPath("/srv/.drop")))
        #expect(!DropNames.isIgnored(RawPath("/srv/.drop/p/a.mp4"), below: RawPath("/srv/.drop/")))
    }
}
