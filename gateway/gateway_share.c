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

static void share_path(const char *root, const char *rel, char *out, size_t outsz)
{
    snprintf(out, outsz, "%.1100s/%.2900s", root, rel);
}

static int share_fail(char *why, size_t whysz, const char *root, const char *op, const char *rel,
                      int err)
{
    snprintf(why, whysz, "share %s: %s %s: %s", root, op, rel, strerror(err));
    return -1;
}

static int local_read_file(const char *root, const char *rel, uint8_t **data, size_t *len,
                           char *why, size_t whysz)
{
    char path[PATH_MAX];
    struct stat st;
    uint8_t *buf;
    size_t got = 0;
    int fd;

    share_path(root, rel, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return share_fail(why, whysz, root, "open", rel, errno);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = errno ? errno : EINVAL;
        close(fd);
        return share_fail(why, whysz, root, "stat", rel, e);
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return share_fail(why, whysz, root, "read", rel, ENOMEM);
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return share_fail(why, whysz, root, "read", rel, e);
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

static int local_stat_mtime(const char *root, const char *rel, int64_t *mtime, char *why,
                            size_t whysz)
{
    char path[PATH_MAX];
    struct stat st;

    share_path(root, rel, path, sizeof(path));
    if (stat(path, &st) < 0)
        return share_fail(why, whysz, root, "stat", rel, errno);
    *mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

/* ---- files written piece by piece (the transfer file streamed from the store) ---------------- */

struct share_file {
    int fd;               /* local */
    struct sftp_file *sf; /* SFTP */
    char rel[PATH_MAX];
};

static int local_file_create(const char *root, const char *rel, struct share_file *f, char *why,
                             size_t whysz)
{
    char path[PATH_MAX];

    share_path(root, rel, path, sizeof(path));
    f->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (f->fd < 0)
        return errno == EEXIST ? SHARE_EXISTS : share_fail(why, whysz, root, "create", rel, errno);
    return 0;
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
    char path[PATH_MAX];
    int rc = 0;

    if (keep && fdatasync(f->fd) < 0)
        rc = share_fail(why, whysz, root, "flush", f->rel, errno);
    if (close(f->fd) < 0 && rc == 0 && keep)
        rc = share_fail(why, whysz, root, "close", f->rel, errno);
    if (rc != 0 || !keep) {
        share_path(root, f->rel, path, sizeof(path));
        unlink(path); /* not named by the journal yet: simply not sent */
    }
    return rc;
}

/* Rename from to to unless to exists (SHARE_EXISTS): renameat2 RENAME_NOREPLACE, or link + unlink
 * where the file system has no RENAME_NOREPLACE. */
static int local_rename_noreplace(const char *root, const char *from, const char *to, char *why,
                                  size_t whysz)
{
    char a[PATH_MAX], b[PATH_MAX];

    share_path(root, from, a, sizeof(a));
    share_path(root, to, b, sizeof(b));
    if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return SHARE_EXISTS;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return share_fail(why, whysz, root, "rename", from, errno);
    if (link(a, b) < 0)
        return errno == EEXIST ? SHARE_EXISTS : share_fail(why, whysz, root, "link", from, errno);
    unlink(a); /* both names hold the same file; a reader ignores the .TMP one */
    return 0;
}

static int local_sync_dir(const char *root, const char *rel, char *why, size_t whysz)
{
    char path[PATH_MAX];
    int fd, rc;

    share_path(root, rel, path, sizeof(path));
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return share_fail(why, whysz, root, "open directory", rel, errno);
    rc = fsync(fd);
    if (rc < 0) {
        int e = errno;
        close(fd);
        return share_fail(why, whysz, root, "fsync directory", rel, e);
    }
    close(fd);
    return 0;
}

static int local_rename(const char *root, const char *from, const char *to, char *why, size_t whysz)
{
    char a[PATH_MAX], b[PATH_MAX];

    share_path(root, from, a, sizeof(a));
    share_path(root, to, b, sizeof(b));
    return rename(a, b) < 0 ? share_fail(why, whysz, root, "rename", from, errno) : 0;
}

static int local_unlink(const char *root, const char *rel, char *why, size_t whysz)
{
    char path[PATH_MAX];

    share_path(root, rel, path, sizeof(path));
    return unlink(path) < 0 ? share_fail(why, whysz, root, "delete", rel, errno) : 0;
}

static int local_exists(const char *root, const char *rel, char *why, size_t whysz)
{
    char path[PATH_MAX];
    struct stat st;

    share_path(root, rel, path, sizeof(path));
    if (lstat(path, &st) == 0)
        return 1;
    return errno == ENOENT ? 0 : share_fail(why, whysz, root, "stat", rel, errno);
}

static int local_mkdir(const char *root, const char *rel, char *why, size_t whysz)
{
    char path[PATH_MAX];

    share_path(root, rel, path, sizeof(path));
    return mkdir(path, 0750) < 0 && errno != EEXIST
               ? share_fail(why, whysz, root, "mkdir", rel, errno)
               : 0;
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

static int local_list(const char *root, const char *dir, const char *suffix, char ***names,
                      size_t *n, char *why, size_t whysz)
{
    char path[PATH_MAX];
    DIR *d;
    struct dirent *e;
    size_t cap = 0, slen = strlen(suffix);
    char **v = NULL;

    *names = NULL;
    *n = 0;
    share_path(root, dir, path, sizeof(path));
    d = opendir(path);
    if (!d)
        return share_fail(why, whysz, root, "list", dir, errno);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len <= slen || strcmp(e->d_name + len - slen, suffix) != 0)
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
