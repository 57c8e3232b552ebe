#include "CIngestLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

const unsigned int CIngestLinux_RENAME_NOREPLACE = RENAME_NOREPLACE;

#ifndef O_PATH
#define O_PATH 010000000
#endif
const int CIngestLinux_O_PATH = O_PATH;
const int CIngestLinux_F_SETLEASE = F_SETLEASE;
const int CIngestLinux_F_RDLCK = F_RDLCK;
const int CIngestLinux_F_UNLCK = F_UNLCK;

int CIngestLinux_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

int CIngestLinux_setLease(int fd, int type) {
    return fcntl(fd, F_SETLEASE, type);
}

int CIngestLinux_peerCredentials(int fd, CIngestLinux_ucred *out) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    out->pid = cred.pid;
    out->uid = cred.uid;
    out->gid = cred.gid;
    return 0;
}

int CIngestLinux_availableBytes(const char *path, uint64_t *out) {
    struct statvfs s;
    if (statvfs(path, &s) != 0) return -1;
    *out = (uint64_t)s.f_bavail * (uint64_t)s.f_frsize;
    return 0;
}

int CIngestLinux_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

int CIngestLinux_setThreadNice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

int CIngestLinux_threadNice(void) {
    errno = 0;
    return getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}
