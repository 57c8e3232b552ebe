import Foundation
import Testing

@testable import StorageKit

/// `GET /projects`: records grouped by project in the catalog, rejected files counted on disk.
struct ProjectSummaryTests {
    @Test func catalogTotalsGroupByProject() throws {
        let catalog = try Catalog.inMemory()
        try catalog.insertBatch([
            Fixture.asset(project: "b", size: 10), Fixture.asset(project: "a", size: 5),
            Fixture.asset(project: "b", size: 7, status: .failed, error: "x"), Fixture.asset(project: "a-1", size: 1),
        ])
        #expect(
            try catalog.projectTotals() == [
                .init(projectID: "a", assets: 1, bytes: 5), .init(projectID: "a-1", assets: 1, bytes: 1),
                .init(projectID: "b", assets: 2, bytes: 17),
            ]
        )
        #expect(try Catalog.inMemory().projectTotals().isEmpty)
    }

    @Test func projectsWithRecordsOrRejectedFilesSortedByID() throws {
        let dir = try TempDir("projects")
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path + "/storage")
        try layout.createCategoryFolders()
        let catalog = try Catalog.inMemory()
        try catalog.insertBatch([Fixture.asset(project: "demo", size: 100), Fixture.asset(project: "demo", size: 23)])
        // Rejected files with their reasons; a reason file does not count.
        try dir.file("storage/rejected/project_demo/bad.txt", size: 3)
        try dir.file("storage/rejected/project_demo/bad.txt.reason.json", size: 3)
        try dir.file("storage/rejected/project_Zed/a.bin", size: 1)
        try dir.file("storage/rejected/project_Zed/b.bin", size: 1)
        try dir.fifo("storage/rejected/project_Zed/pipe")
        // Folders that are not projects, an empty project folder, a symlinked one.
        try dir.folder("storage/rejected/project_empty")
        try dir.folder("storage/rejected/project_bad!id")
        try dir.file("storage/rejected/stray.txt", size: 1)
        try dir.folder("elsewhere/project_x")
        try dir.file("elsewhere/project_x/f", size: 1)
        try dir.symlink("storage/rejected/project_linked", to: dir.path + "/elsewhere/project_x")

        let summary = try ProjectSummary.all(catalog: catalog, layout: layout)
        #expect(
            summary == [
                ProjectSummary(projectID: "Zed", assets: 0, bytes: 0, rejected: 3),
                ProjectSummary(projectID: "demo", assets: 2, bytes: 123, rejected: 1),
            ]
        )
        // The count is the length of the project's rejected list.
        #expect(try RejectedStore(layout: layout).list(project: ProjectID(exactly: "Zed")!).count == 3)
        let json = String(decoding: try JSONEncoder().encode(summary[1]), as: UTF8.self)
        #expect(json.contains("\"project_id\":\"demo\"") && json.contains("\"rejected\":1"))
    }
}
