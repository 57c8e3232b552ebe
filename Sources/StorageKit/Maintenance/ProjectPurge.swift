#if canImport(Glibc)
import Glibc
#endif

/// Deletes a project's storage: every file below its `project_<id>` folder in each per-project
/// category (`rejected/` and its reason files included), those folders, and all its records.
public enum ProjectPurge {
    /// Removes `project`'s files and folders, then its catalog records. Other projects are not
    /// touched, and a symlink found anywhere (even one pointing at another project or outside
    /// `STORAGE_PATH`) is removed as a link without following it.
    ///
    /// Files go first, records second: if the process dies part-way, the records that remain
    /// point at missing files, which `repair` settles, and running the purge again finishes it.
    ///
    /// - Throws: `StorageError` `.io` naming the path that could not be removed, or `.catalog`.
    public static func purge(project: ProjectID, layout: StorageLayout, catalog: Catalog) throws -> PurgeSummary {
        // Background jobs go first, so none starts writing into the folders about to be removed.
        try catalog.cancelJobs(project: project)
        var tally = TreeRemover.Tally()
        for category in StorageCategory.perProject {
            let categoryPath = layout.categoryPath(category)
            // O_NOFOLLOW: a category folder replaced by a symlink is not entered.
            let fd = open(categoryPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 {
                let e = errno
                if e == ENOENT { continue }
                throw StorageError.syscall("open", path: categoryPath, errno: e)
            }
            defer { close(fd) }
            try TreeRemover.remove(
                project.folderName,
                in: fd,
                path: layout.projectPath(category, project),
                tally: &tally
            )
        }
        try catalog.deleteProject(project)
        return PurgeSummary(projectID: project.rawValue, filesRemoved: tally.files, bytesFreed: tally.bytes)
    }
}
