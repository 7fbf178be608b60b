/* gateway_safe.c - names on the share checked, and the local share's directories opened beneath its root without following a symbolic link. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gateway.h"
#include "smtp_char.h"

const char *gw_safe_kind(mode_t mode)
{
    if (S_ISLNK(mode))
        return "symbolic link";
    if (S_ISDIR(mode))
        return "not a regular file (directory)";
    if (S_ISFIFO(mode))
        return "not a regular file (FIFO)";
    if (S_ISSOCK(mode))
        return "not a regular file (socket)";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "not a regular file (device)";
    return S_ISREG(mode) ? "regular file" : "not a regular file";
}

/* Why a name does not do as a path beneath the share's root, or NULL when it does. */
static const char *name_problem(const char *rel)
{
    const char *p = rel;

    if (!rel[0])
        return "empty name";
    if (rel[0] == '/')
        return "absolute path";
    if (smtp_has_control(rel, strlen(rel)))
        return "control character in the name";
    while (*p) {
        size_t len = strcspn(p, "/");

        if (len == 0)
            return "empty path component";
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return "\".\" or \"..\" in the path";
        p += len;
        if (*p == '/' && !*++p)
            return "empty path component";
    }
    return NULL;
}

int gw_safe_refuse(const char *share, const char *op, const char *rel, const char *reason,
                   char *why, size_t whysz)
{
    snprintf(why, whysz, "share %.1100s: %s %.200s: refused: %s", share, op, rel, reason);
    return SHARE_PATH_REFUSED;
}

int gw_safe_name_check(const char *share, const char *op, const char *rel, char *why, size_t whysz)
{
    const char *problem = name_problem(rel);

    return problem ? gw_safe_refuse(share, op, rel, problem, why, whysz) : 0;
}

static atomic_int no_openat2; /* one kernel for all workers */

void gw_safe_without_openat2(void)
{
    no_openat2 = 1;
}

/* openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or -1 with errno (ENOSYS: a kernel before 5.6). */
static int open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {0};
    int fd, tries = 0;

    if (no_openat2) {
        errno = ENOSYS;
        return -1;
    }
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    do {
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 8); /* EAGAIN: a race */
    if (fd < 0 && errno == ENOSYS)
        no_openat2 = 1;
    return fd;
}

int gw_safe_openat(int dirfd, const char *name, int flags, mode_t mode)
{
    int fd = open_beneath(dirfd, name, flags, mode);

    if (fd >= 0 || errno != ENOSYS)
        return fd;
    /* one component (no '/'): O_NOFOLLOW alone keeps it from following a link */
    return openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

/* Each component of dir opened in turn, none a symbolic link; why names the one that is not a
 * real directory.  Also how a failed openat2 is explained. */
static int walk_dirs(int rootfd, const char *share, const char *op, const char *dir, char *why,
                     size_t whysz)
{
    char comp[256], upto[1024];
    const char *p = dir;
    int fd = dup(rootfd);

    while (fd >= 0 && *p) {
        size_t len = strcspn(p, "/");
        struct stat st;
        int next;

        if (len >= sizeof(comp)) { /* cut short it could name another directory */
            close(fd);
            snprintf(why, whysz, "share %.1100s: %s %.200s: %s", share, op, dir,
                     strerror(ENAMETOOLONG));
            return -1;
        }
        snprintf(comp, sizeof(comp), "%.*s", (int)len, p);
        snprintf(upto, sizeof(upto), "%.*s", (int)((size_t)(p - dir) + len), dir);
        next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            int e = errno;
            int lst = fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW);

            close(fd);
            if (lst == 0 && !S_ISDIR(st.st_mode)) {
                snprintf(why, whysz, "share %.1100s: %s %.200s: refused: %.200s/ is %s", share, op,
                         dir, upto, S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
                return SHARE_PATH_REFUSED;
            }
            snprintf(why, whysz, "share %.1100s: %s %.200s: %s", share, op, upto, strerror(e));
            return -1;
        }
        close(fd);
        fd = next;
        p += len;
        if (*p == '/')
            p++;
    }
    if (fd < 0)
        snprintf(why, whysz, "share %.1100s: %s %.200s: %s", share, op, dir, strerror(errno));
    return fd;
}

int gw_safe_dir(const char *root, const char *dir, const char *op, char *why, size_t whysz)
{
    int rootfd, fd;

    if (dir[0] && (fd = gw_safe_name_check(root, op, dir, why, whysz)) < 0)
        return fd;
    rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        snprintf(why, whysz, "share %.1100s: %s %.200s: %s", root, op, dir[0] ? dir : ".",
                 strerror(errno));
        return -1;
    }
    if (!dir[0])
        return rootfd;
    fd = open_beneath(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) /* ENOSYS, or to say which component is not a real directory */
        fd = walk_dirs(rootfd, root, op, dir, why, whysz);
    close(rootfd);
    return fd;
}

int gw_safe_parent(const char *root, const char *rel, const char *op, const char **base, char *why,
                   size_t whysz)
{
    char dir[1024];
    const char *slash;
    int rc = gw_safe_name_check(root, op, rel, why, whysz);

    if (rc < 0)
        return rc;
    slash = strrchr(rel, '/');
    *base = slash ? slash + 1 : rel;
    if ((size_t)(*base - rel) >= sizeof(dir)) {
        snprintf(why, whysz, "share %.1100s: %s %.200s...: path too long", root, op, rel);
        return -1;
    }
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - rel) : 0, rel);
    return gw_safe_dir(root, dir, op, why, whysz);
}
