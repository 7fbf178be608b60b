/* gateway_share.c - the postoffice share as a local path: every operation blocks, so callers run it on a worker thread. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway.h"

static void share_path(const char *root, const char *rel, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", root, rel);
}

static int share_fail(char *why, size_t whysz, const char *root, const char *op, const char *rel, int err)
{
    snprintf(why, whysz, "share %s: %s %s: %s", root, op, rel, strerror(err));
    return -1;
}

int share_read_file(const char *root, const char *rel, uint8_t **data, size_t *len, int64_t *mtime,
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
    if (mtime)
        *mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

int share_stat_mtime(const char *root, const char *rel, int64_t *mtime, char *why, size_t whysz)
{
    char path[PATH_MAX];
    struct stat st;

    share_path(root, rel, path, sizeof(path));
    if (stat(path, &st) < 0)
        return share_fail(why, whysz, root, "stat", rel, errno);
    *mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

int share_write_atomic(const char *root, const char *rel, const uint8_t *data, size_t len, char *why,
                       size_t whysz)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8], reltmp[PATH_MAX];
    size_t done = 0;
    int fd;

    share_path(root, rel, path, sizeof(path));
    snprintf(reltmp, sizeof(reltmp), "%.*s.TMP", (int)(strlen(rel) > 3 ? strlen(rel) - 3 : strlen(rel)), rel);
    share_path(root, reltmp, tmp, sizeof(tmp));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return share_fail(why, whysz, root, "create", reltmp, errno);
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return share_fail(why, whysz, root, "write", reltmp, e);
        }
        done += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        return share_fail(why, whysz, root, "flush", reltmp, e);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return share_fail(why, whysz, root, "rename", reltmp, e);
    }
    return 0;
}

int share_rename(const char *root, const char *from, const char *to, char *why, size_t whysz)
{
    char a[PATH_MAX], b[PATH_MAX];

    share_path(root, from, a, sizeof(a));
    share_path(root, to, b, sizeof(b));
    return rename(a, b) < 0 ? share_fail(why, whysz, root, "rename", from, errno) : 0;
}

int share_unlink(const char *root, const char *rel, char *why, size_t whysz)
{
    char path[PATH_MAX];

    share_path(root, rel, path, sizeof(path));
    return unlink(path) < 0 ? share_fail(why, whysz, root, "delete", rel, errno) : 0;
}

int share_exists(const char *root, const char *rel)
{
    char path[PATH_MAX];

    share_path(root, rel, path, sizeof(path));
    return access(path, F_OK) == 0;
}

int share_mkdir(const char *root, const char *rel, char *why, size_t whysz)
{
    char path[PATH_MAX];

    share_path(root, rel, path, sizeof(path));
    return mkdir(path, 0750) < 0 && errno != EEXIST ? share_fail(why, whysz, root, "mkdir", rel, errno) : 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int share_list(const char *root, const char *dir, const char *suffix, char ***names, size_t *n,
               char *why, size_t whysz)
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
        if (*n == cap) {
            char **p = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
            if (!p)
                break;
            v = p;
        }
        if (!(v[*n] = strdup(e->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof(*v), name_cmp);
    *names = v;
    return 0;
}

void share_list_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
