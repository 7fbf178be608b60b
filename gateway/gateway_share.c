/* gateway_share.c - the postoffice share, a local path or SFTP: every operation blocks, so callers run it on a worker thread. */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "array.h"
#include "gateway.h"

static int share_fail(char *why, size_t whysz, const char *root, const char *op, const char *rel,
                      int err)
{
    snprintf(why, whysz, "share %.1100s: %s %.200s: %s", root, op, rel, strerror(err));
    return -1;
}

/* Why rel (in dirfd as base) is refused, into reason: its type when it is no regular file, or a
 * hard link (a second name of a file that may live outside the share: where the kernel lets a user
 * link a file it cannot write, fs.protected_hardlinks=0, that is a way out of the root).  0 when it
 * is not refused.  Our own writes rename, so a file of ours has one name. */
static int local_refused(int dirfd, const char *base, int fd, char *reason, size_t rsz)
{
    struct stat st;

    if (fd >= 0 ? fstat(fd, &st) < 0 : fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (!S_ISREG(st.st_mode))
        snprintf(reason, rsz, "%s", gw_safe_kind(st.st_mode));
    else if (st.st_nlink > 1)
        snprintf(reason, rsz, "hard link (%llu names for one file)",
                 (unsigned long long)st.st_nlink);
    else
        return 0;
    return 1;
}

/* All of an open file; -1 with errno. */
static int local_slurp(int fd, uint8_t **data, size_t *len)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;

    if (fstat(fd, &st) < 0)
        return -1;
    if (!(buf = malloc((size_t)st.st_size + 1)))
        return -1;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            errno = e;
            return -1;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

/* Opened without following a link and without blocking (a FIFO), then it must be a regular file
 * with one name. */
static int local_read_file(const char *root, const char *rel, uint8_t **data, size_t *len,
                           char *why, size_t whysz)
{
    const char *base;
    int dirfd = gw_safe_parent(root, rel, "read", &base, why, whysz);
    int fd, e, refused, rc = 0;

    if (dirfd < 0)
        return dirfd;
    fd = gw_safe_openat(dirfd, base, O_RDONLY | O_NONBLOCK, 0);
    e = errno;
    refused = local_refused(dirfd, base, fd, why, whysz);
    close(dirfd);
    if (refused) {
        rc = SHARE_REFUSED;
    } else if (fd < 0) {
        rc = share_fail(why, whysz, root, "open", rel, e);
    } else if (local_slurp(fd, data, len) < 0) {
        rc = share_fail(why, whysz, root, "read", rel, errno);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* at(dirfd, base, arg) in rel's directory, opened the safe way.  SHARE_PATH_REFUSED or -1 with why
 * and errno 0 when that directory is refused or missing; else at's result, errno kept, and -1 also
 * sets why. */
typedef int (*local_at_fn)(int dirfd, const char *base, void *arg);
static int local_at(const char *root, const char *rel, const char *op, local_at_fn at, void *arg,
                    char *why, size_t whysz)
{
    const char *base;
    int dirfd = gw_safe_parent(root, rel, op, &base, why, whysz);
    int rc, e;

    if (dirfd < 0) {
        errno = 0;
        return dirfd;
    }
    rc = at(dirfd, base, arg);
    e = errno;
    close(dirfd);
    if (rc == -1)
        share_fail(why, whysz, root, op, rel, e);
    errno = e;
    return rc;
}

static int at_lstat(int dirfd, const char *base, void *st)
{
    return fstatat(dirfd, base, st, AT_SYMLINK_NOFOLLOW);
}

/* lstat of rel (never what a link points to); -1 with why, errno ENOENT for a missing name in a
 * directory that is there. */
static int local_lstat(const char *root, const char *rel, const char *op, struct stat *st,
                       char *why, size_t whysz)
{
    return local_at(root, rel, op, at_lstat, st, why, whysz);
}

static int local_stat_mtime(const char *root, const char *rel, int64_t *mtime, char *why,
                            size_t whysz)
{
    struct stat st;
    int rc = local_lstat(root, rel, "stat", &st, why, whysz);

    if (rc < 0)
        return rc;
    *mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

/* ---- files written piece by piece (the transfer file streamed from the store) ---------------- */

struct share_file {
    int fd;               /* local */
    struct sftp_file *sf; /* SFTP */
    char rel[PATH_MAX];
};

static int at_unlink(int dirfd, const char *base, void *arg)
{
    return unlinkat(dirfd, base, 0);
}

static int local_unlink(const char *root, const char *rel, char *why, size_t whysz)
{
    int rc = local_at(root, rel, "delete", at_unlink, NULL, why, whysz);

    return rc < 0 ? rc : 0;
}

static int at_create(int dirfd, const char *base, void *fd)
{
    *(int *)fd = gw_safe_openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL, 0640);
    return *(int *)fd < 0 ? -1 : 0;
}

static int local_file_create(const char *root, const char *rel, struct share_file *f, char *why,
                             size_t whysz)
{
    int rc = local_at(root, rel, "create", at_create, &f->fd, why, whysz);

    if (rc == 0 || rc == SHARE_PATH_REFUSED)
        return rc;
    return errno == EEXIST ? SHARE_EXISTS : -1;
}

static int local_file_write(const char *root, struct share_file *f, const struct iovec *iov,
                            int niov, char *why, size_t whysz)
{
    for (int i = 0; i < niov; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;

        while (left > 0) {
            ssize_t n = write(f->fd, p, left);

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return share_fail(why, whysz, root, "write", f->rel, errno);
            p += n;
            left -= (size_t)n;
        }
    }
    return 0;
}

static int local_file_finish(const char *root, struct share_file *f, int keep, char *why,
                             size_t whysz)
{
    char scratch[GW_WHY_MAX];
    int rc = 0;

    if (keep && fdatasync(f->fd) < 0)
        rc = share_fail(why, whysz, root, "flush", f->rel, errno);
    if (close(f->fd) < 0 && rc == 0 && keep)
        rc = share_fail(why, whysz, root, "close", f->rel, errno);
    if (rc != 0 || !keep) /* not named by the journal yet: simply not sent */
        local_unlink(root, f->rel, scratch, sizeof(scratch));
    return rc;
}

/* Both names' directories, opened the safe way; -1 or SHARE_PATH_REFUSED with why. */
static int local_two_dirs(const char *root, const char *from, const char *to, const char *op,
                          int fds[2], const char *base[2], char *why, size_t whysz)
{
    fds[0] = gw_safe_parent(root, from, op, &base[0], why, whysz);
    if (fds[0] < 0)
        return fds[0];
    fds[1] = gw_safe_parent(root, to, op, &base[1], why, whysz);
    if (fds[1] < 0) {
        close(fds[0]);
        return fds[1];
    }
    return 0;
}

/* Rename from to to unless to exists (SHARE_EXISTS): renameat2 RENAME_NOREPLACE, or link + unlink
 * where the file system has no RENAME_NOREPLACE. */
static int local_rename_noreplace(const char *root, const char *from, const char *to, char *why,
                                  size_t whysz)
{
    const char *base[2];
    int fds[2], rc, e;

    if ((rc = local_two_dirs(root, from, to, "rename", fds, base, why, whysz)) < 0)
        return rc;
    rc = renameat2(fds[0], base[0], fds[1], base[1], RENAME_NOREPLACE);
    e = errno;
    if (rc < 0 && (e == EINVAL || e == ENOSYS || e == ENOTSUP)) {
        rc = linkat(fds[0], base[0], fds[1], base[1], 0);
        e = errno;
        if (rc == 0)
            unlinkat(fds[0], base[0], 0); /* both names hold the same file; a reader ignores .TMP */
    }
    close(fds[0]);
    close(fds[1]);
    if (rc == 0)
        return 0;
    return e == EEXIST ? SHARE_EXISTS : share_fail(why, whysz, root, "rename", from, e);
}

static int local_sync_dir(const char *root, const char *rel, char *why, size_t whysz)
{
    int fd = gw_safe_dir(root, rel, "open directory", why, whysz);

    if (fd < 0)
        return fd;
    if (fsync(fd) < 0) {
        int e = errno;
        close(fd);
        return share_fail(why, whysz, root, "fsync directory", rel, e);
    }
    close(fd);
    return 0;
}

/* rename(2) moves a symbolic link itself, never what it points to. */
static int local_rename(const char *root, const char *from, const char *to, char *why, size_t whysz)
{
    const char *base[2];
    int fds[2], rc, e;

    if ((rc = local_two_dirs(root, from, to, "rename", fds, base, why, whysz)) < 0)
        return rc;
    rc = renameat(fds[0], base[0], fds[1], base[1]);
    e = errno;
    close(fds[0]);
    close(fds[1]);
    return rc < 0 ? share_fail(why, whysz, root, "rename", from, e) : 0;
}

static int local_exists(const char *root, const char *rel, char *why, size_t whysz)
{
    struct stat st;
    int rc = local_lstat(root, rel, "stat", &st, why, whysz);

    if (rc == 0)
        return 1;
    if (rc == SHARE_PATH_REFUSED)
        return rc;
    return errno == ENOENT ? 0 : -1;
}

/* 1 with *mode when the name is taken by something else than a directory. */
static int at_mkdir(int dirfd, const char *base, void *mode)
{
    struct stat st;

    if (mkdirat(dirfd, base, 0750) == 0)
        return 0;
    if (errno != EEXIST || fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    *(mode_t *)mode = st.st_mode;
    return S_ISDIR(st.st_mode) ? 0 : 1;
}

/* A directory already there must be a real one. */
static int local_mkdir(const char *root, const char *rel, char *why, size_t whysz)
{
    mode_t mode = 0;
    int rc = local_at(root, rel, "mkdir", at_mkdir, &mode, why, whysz);

    if (rc == 1)
        return gw_safe_refuse(root, "mkdir", rel,
                              S_ISLNK(mode) ? "a symbolic link is there"
                                            : "something else than a directory is there",
                              why, whysz);
    return rc;
}

int gw_share_names_add(char ***v, size_t *n, size_t *cap, const char *name)
{
    if (sg_array_reserve(v, cap, *n + 1, sizeof(**v)) < 0)
        return -1;
    if (!((*v)[*n] = strdup(name)))
        return -1;
    (*n)++;
    return 0;
}

int gw_share_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names that are not a plain component (a control character, "..") are left out. */
static int local_list(const char *root, const char *dir, const char *suffix, char ***names,
                      size_t *n, char *why, size_t whysz)
{
    int fd = gw_safe_dir(root, dir, "list", why, whysz);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    struct dirent *e;
    size_t cap = 0, slen = strlen(suffix);
    char **v = NULL, scratch[GW_WHY_MAX];

    *names = NULL;
    *n = 0;
    if (!d) {
        if (fd >= 0) {
            close(fd);
            return share_fail(why, whysz, root, "list", dir, ENOMEM);
        }
        return fd;
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len <= slen || strcmp(e->d_name + len - slen, suffix) != 0 || strchr(e->d_name, '/') ||
            gw_safe_name_check(root, "list", e->d_name, scratch, sizeof(scratch)) < 0)
            continue;
        if (gw_share_names_add(&v, n, &cap, e->d_name) < 0)
            break;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof(*v), gw_share_name_cmp);
    *names = v;
    return 0;
}

void gw_share_list_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* ---- the share: one backend, serialized ---------------------------------------------- */

struct share {
    char root[1025]; /* local path */
    char name[1400];
    struct sftp_share *sftp; /* NULL: local */
    pthread_mutex_t lock;
};

struct share *gw_share_new(const struct cfg_gateway *c, char *why, size_t whysz)
{
    struct share *sh = calloc(1, sizeof(*sh));

    if (!sh) {
        snprintf(why, whysz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&sh->lock, NULL);
    if (c->sftp_host[0]) {
        if (!c->sftp_user[0] || !c->sftp_key[0] || !c->sftp_known_hosts[0] || !c->sftp_root[0]) {
            snprintf(why, whysz,
                     "gateway.sftp_host is set: sftp_user, sftp_key, sftp_known_hosts and "
                     "sftp_root are needed too");
            gw_share_free(sh);
            return NULL;
        }
        sh->sftp = gw_sftp_share_new(c);
        if (!sh->sftp) {
            snprintf(why, whysz, "out of memory");
            gw_share_free(sh);
            return NULL;
        }
        snprintf(sh->name, sizeof(sh->name), "sftp://%.100s@%.255s:%lld%.1000s", c->sftp_user,
                 c->sftp_host, c->sftp_port, c->sftp_root);
        return sh;
    }
    if (!c->share[0]) {
        snprintf(why, whysz, "neither gateway.share (a local path) nor gateway.sftp_host is set");
        gw_share_free(sh);
        return NULL;
    }
    snprintf(sh->root, sizeof(sh->root), "%s", c->share);
    snprintf(sh->name, sizeof(sh->name), "%s", c->share);
    return sh;
}

void gw_share_free(struct share *sh)
{
    if (!sh)
        return;
    gw_sftp_share_free(sh->sftp);
    pthread_mutex_destroy(&sh->lock);
    free(sh);
}

const char *gw_share_name(const struct share *sh)
{
    return sh->name;
}

/* Local operations run in parallel (the kernel orders them); the one SFTP session is taken in turns. */
#define SHARE_OP(call_local, call_sftp)  \
    do {                                 \
        int rc_;                         \
        if (!sh->sftp)                   \
            return call_local;           \
        pthread_mutex_lock(&sh->lock);   \
        rc_ = call_sftp;                 \
        pthread_mutex_unlock(&sh->lock); \
        return rc_;                      \
    } while (0)

int gw_share_read_file(struct share *sh, const char *rel, uint8_t **data, size_t *len, char *why,
                       size_t whysz)
{
    SHARE_OP(local_read_file(sh->root, rel, data, len, why, whysz),
             gw_sftp_read_file(sh->sftp, rel, data, len, why, whysz));
}

int gw_share_stat_mtime(struct share *sh, const char *rel, int64_t *mtime, char *why, size_t whysz)
{
    SHARE_OP(local_stat_mtime(sh->root, rel, mtime, why, whysz),
             gw_sftp_stat_mtime(sh->sftp, rel, mtime, why, whysz));
}

/* The open-file steps (exclusive create, write, flush), then a rename over rel. */
int gw_share_write_atomic(struct share *sh, const char *rel, const uint8_t *data, size_t len,
                          char *why, size_t whysz)
{
    char tmp[PATH_MAX], scratch[GW_WHY_MAX];
    const char *dot = strrchr(rel, '.');
    struct iovec iov = {(void *)data, len};
    struct share_file *f;
    int rc;

    snprintf(tmp, sizeof(tmp), "%.*s.TMP", (int)(dot ? (size_t)(dot - rel) : strlen(rel)), rel);
    rc = gw_share_file_create(sh, tmp, &f, why, whysz);
    if (rc == SHARE_EXISTS)
        snprintf(why, whysz, "share %s: create %s: %s", sh->name, tmp, strerror(EEXIST));
    if (rc != 0)
        return -1;
    if (gw_share_file_write(sh, f, &iov, 1, why, whysz) < 0) {
        gw_share_file_finish(sh, f, 0, scratch, sizeof(scratch));
        return -1;
    }
    if (gw_share_file_finish(sh, f, 1, why, whysz) < 0)
        return -1;
    if (gw_share_rename(sh, tmp, rel, why, whysz) < 0) {
        gw_share_unlink(sh, tmp, scratch, sizeof(scratch));
        return -1;
    }
    return 0;
}

int gw_share_rename(struct share *sh, const char *from, const char *to, char *why, size_t whysz)
{
    SHARE_OP(local_rename(sh->root, from, to, why, whysz),
             gw_sftp_rename(sh->sftp, from, to, why, whysz));
}

int gw_share_unlink(struct share *sh, const char *rel, char *why, size_t whysz)
{
    SHARE_OP(local_unlink(sh->root, rel, why, whysz), gw_sftp_unlink(sh->sftp, rel, why, whysz));
}

int gw_share_exists(struct share *sh, const char *rel, char *why, size_t whysz)
{
    SHARE_OP(local_exists(sh->root, rel, why, whysz), gw_sftp_exists(sh->sftp, rel, why, whysz));
}

int gw_share_file_create(struct share *sh, const char *rel, struct share_file **out, char *why,
                         size_t whysz)
{
    struct share_file *f = calloc(1, sizeof(*f));
    int rc;

    *out = NULL;
    if (!f) {
        snprintf(why, whysz, "share %s: create %s: out of memory", sh->name, rel);
        return -1;
    }
    if (strlen(rel) >= sizeof(f->rel)) {
        snprintf(why, whysz, "share %s: create %.200s...: path too long", sh->name, rel);
        free(f);
        return -1;
    }
    snprintf(f->rel, sizeof(f->rel), "%s", rel);
    f->fd = -1;
    if (!sh->sftp) {
        rc = local_file_create(sh->root, rel, f, why, whysz);
    } else {
        pthread_mutex_lock(&sh->lock);
        rc = gw_sftp_file_create(sh->sftp, rel, &f->sf, why, whysz);
        pthread_mutex_unlock(&sh->lock);
    }
    if (rc != 0) {
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

int gw_share_file_write(struct share *sh, struct share_file *f, const struct iovec *iov, int niov,
                        char *why, size_t whysz)
{
    SHARE_OP(local_file_write(sh->root, f, iov, niov, why, whysz),
             gw_sftp_file_write(sh->sftp, f->sf, iov, niov, why, whysz));
}

int gw_share_file_finish(struct share *sh, struct share_file *f, int keep, char *why, size_t whysz)
{
    int rc;

    if (!sh->sftp) {
        rc = local_file_finish(sh->root, f, keep, why, whysz);
    } else {
        pthread_mutex_lock(&sh->lock);
        rc = gw_sftp_file_finish(sh->sftp, f->sf, keep, why, whysz);
        pthread_mutex_unlock(&sh->lock);
    }
    free(f);
    return rc;
}

int gw_share_rename_noreplace(struct share *sh, const char *from, const char *to, char *why,
                              size_t whysz)
{
    SHARE_OP(local_rename_noreplace(sh->root, from, to, why, whysz),
             gw_sftp_rename_noreplace(sh->sftp, from, to, why, whysz));
}

int gw_share_sync_dir(struct share *sh, const char *rel, char *why, size_t whysz)
{
    SHARE_OP(local_sync_dir(sh->root, rel, why, whysz),
             gw_sftp_sync_dir(sh->sftp, rel, why, whysz));
}

int gw_share_list(struct share *sh, const char *dir, const char *suffix, char ***names, size_t *n,
                  char *why, size_t whysz)
{
    SHARE_OP(local_list(sh->root, dir, suffix, names, n, why, whysz),
             gw_sftp_list(sh->sftp, dir, suffix, names, n, why, whysz));
}

int gw_share_mkdir(struct share *sh, const char *rel, char *why, size_t whysz)
{
    SHARE_OP(local_mkdir(sh->root, rel, why, whysz), gw_sftp_mkdir(sh->sftp, rel, why, whysz));
}
