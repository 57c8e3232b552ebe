#ifndef CINGESTLINUX_H
#define CINGESTLINUX_H

#include <stdint.h>
#include <sys/types.h>

/// renameat2(2) through the raw syscall (glibc 2.36 has a wrapper, but only with _GNU_SOURCE).
int CIngestLinux_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

/// Never replace an existing target.
extern const unsigned int CIngestLinux_RENAME_NOREPLACE;

/// open(2)'s O_PATH (hidden behind _GNU_SOURCE): a descriptor that only anchors a path, for *at() calls.
extern const int CIngestLinux_O_PATH;

/// fcntl lease commands and types (hidden behind _GNU_SOURCE in glibc's headers).
extern const int CIngestLinux_F_SETLEASE;
extern const int CIngestLinux_F_RDLCK;
extern const int CIngestLinux_F_UNLCK;

/// fcntl(fd, F_SETLEASE, type): a non-variadic wrapper.
int CIngestLinux_setLease(int fd, int type);

/// Layout of `struct ucred` (SO_PEERCRED), which Swift's Glibc module hides.
typedef struct {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
} CIngestLinux_ucred;

/// getsockopt(fd, SOL_SOCKET, SO_PEERCRED); returns 0 or -1 with errno set.
int CIngestLinux_peerCredentials(int fd, CIngestLinux_ucred *out);

/// statfs-free check of free bytes available to unprivileged users on the filesystem of `path`.
int CIngestLinux_availableBytes(const char *path, uint64_t *out);

/// eventfd(2) with EFD_CLOEXEC|EFD_NONBLOCK: wakes a thread blocked in poll().
int CIngestLinux_eventfd(void);

/// setpriority(PRIO_PROCESS, gettid(), nice): the calling thread's nice value (threads it starts later inherit
/// it); returns 0 or -1 with errno set.
int CIngestLinux_setThreadNice(int nice);

/// The calling thread's nice value, or -1 with errno set (check errno: -1 is also a valid value).
int CIngestLinux_threadNice(void);

#endif
