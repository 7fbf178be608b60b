/* gateway_journal.c - the gateway's own journal of transfer files being written: exactly once into P1/ across a crash. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "fd_write.h"
#include "gateway.h"
#include "log.h"

/*
 * The file holds one record a line, appended:
 *   I <key> <tmp> <unix time>   the temporary file <tmp> is complete; it is about to be renamed
 *   D <key> <final>             it was renamed to P1/<final>
 *   A <key>                     the router has the answer: forget <key>
 * <key> is "<qid>/<recipient indexes>".  Only I records are made durable
 * before anything depends on them; D and A records only save work.  The
 * file is rewritten with the live entries at start and whenever it has
 * grown past JOURNAL_COMPACT_BYTES.
 */
#define JOURNAL_COMPACT_BYTES (1024 * 1024)
#define JOURNAL_KEEP_SECONDS \
    (30 * 86400) /* an entry nobody asked for again in 30 days is dropped */
#define JOURNAL_LINE_MAX 512

struct entry {
    char *key;
    struct gw_journal_entry e;
    long long since;
};

struct gw_journal {
    pthread_mutex_t lock;
    char path[PATH_MAX];
    int fd;
    off_t size;
    struct entry *v;
    size_t n, cap;
    struct sg_buf pending; /* A records not yet written (they are written with the next I) */
    size_t carried;
    struct gw_sync_group sync;
};

static struct entry *entry_find(struct gw_journal *j, const char *key)
{
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->v[i].key, key) == 0)
            return &j->v[i];
    return NULL;
}

static void entry_drop(struct gw_journal *j, struct entry *x)
{
    free(x->key);
    *x = j->v[--j->n];
}

static struct entry *entry_add(struct gw_journal *j, const char *key, const char *tmp,
                               long long since)
{
    struct entry *x = entry_find(j, key);

    if (!x) {
        if (sg_array_reserve(&j->v, &j->cap, j->n + 1, sizeof(*j->v)) < 0)
            return NULL;
        x = &j->v[j->n];
        if (!(x->key = strdup(key)))
            return NULL;
        j->n++;
    }
    snprintf(x->e.tmp, sizeof(x->e.tmp), "%s", tmp);
    x->e.final[0] = '\0';
    x->since = since;
    return x;
}

/* A name we wrote ourselves: 8.3, upper case, hex digits after the first. */
static int name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > GW_TMP_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
            return 0;
    return 1;
}

/* Replay one record; 0, or -1 when the line is not one we write. */
static int replay_line(struct gw_journal *j, char *line)
{
    char *save = NULL, *kind = strtok_r(line, " ", &save), *key = strtok_r(NULL, " ", &save);
    char *a = strtok_r(NULL, " ", &save), *b = strtok_r(NULL, " ", &save);
    struct entry *x;

    if (!kind || !key || strlen(kind) != 1 || !strchr(key, '/'))
        return -1;
    switch (kind[0]) {
    case 'I':
        if (!a || !b || !name_ok(a))
            return -1;
        return entry_add(j, key, a, strtoll(b, NULL, 10)) ? 0 : -1;
    case 'D':
        if (!a || !name_ok(a))
            return -1;
        if ((x = entry_find(j, key)))
            snprintf(x->e.final, sizeof(x->e.final), "%s", a);
        return 0;
    case 'A':
        if ((x = entry_find(j, key)))
            entry_drop(j, x);
        return 0;
    default:
        return -1;
    }
}

static int journal_load(struct gw_journal *j, char *why, size_t whysz)
{
    FILE *f = fopen(j->path, "r");
    char line[JOURNAL_LINE_MAX];
    unsigned lineno = 0, bad = 0;
    long long now = (long long)time(NULL);

    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, whysz, "journal %s: %s", j->path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);

        lineno++;
        if (len == 0 || line[len - 1] != '\n') {
            bad++; /* a line cut by a crash (only the last one can be) or too long */
            continue;
        }
        line[len - 1] = '\0';
        if (replay_line(j, line) < 0)
            bad++;
    }
    fclose(f);
    if (bad)
        log_warn("journal %s: %u of %u lines are not records and were skipped", j->path, bad,
                 lineno);
    for (size_t i = 0; i < j->n;) {
        if (now - j->v[i].since > JOURNAL_KEEP_SECONDS) {
            log_warn("journal %s: %s (temporary file P1/%s) not asked for in 30 days: forgotten",
                     j->path, j->v[i].key, j->v[i].e.tmp);
            entry_drop(j, &j->v[i]);
        } else {
            i++;
        }
    }
    return 0;
}

static int sync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    return sg_fsync_dir(dir[0] ? dir : "/");
}

/* Rewrite the file with the live entries only (called with the lock held, or before any thread runs). */
static int journal_compact(struct gw_journal *j, char *why, size_t whysz)
{
    char tmp[PATH_MAX + 8], line[JOURNAL_LINE_MAX];
    int fd;

    snprintf(tmp, sizeof(tmp), "%s.new", j->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    for (size_t i = 0; i < j->n; i++) {
        int len = snprintf(line, sizeof(line), "I %s %s %lld\n", j->v[i].key, j->v[i].e.tmp,
                           j->v[i].since);

        if (sg_write_all(fd, line, (size_t)len) < 0)
            goto fail_fd;
        if (j->v[i].e.final[0]) {
            len = snprintf(line, sizeof(line), "D %s %s\n", j->v[i].key, j->v[i].e.final);
            if (sg_write_all(fd, line, (size_t)len) < 0)
                goto fail_fd;
        }
    }
    if (fdatasync(fd) < 0 || rename(tmp, j->path) < 0 || sync_parent_dir(j->path) < 0)
        goto fail_fd;
    if (j->fd >= 0)
        close(j->fd);
    j->fd = fd;
    j->size = lseek(fd, 0, SEEK_END);
    sg_buf_reset(&j->pending); /* the A records pending are all applied in what was just written */
    return 0;
fail_fd:
    close(fd);
fail:
    snprintf(why, whysz, "journal %s: %s", j->path, strerror(errno));
    unlink(tmp);
    return -1;
}

/* The sync group's fsync: on a duplicate descriptor, so that a compaction may swap the file meanwhile. */
static int journal_sync(void *arg)
{
    struct gw_journal *j = arg;
    int fd, rc;

    pthread_mutex_lock(&j->lock);
    fd = j->fd >= 0 ? dup(j->fd) : -1;
    pthread_mutex_unlock(&j->lock);
    if (fd < 0)
        return -1;
    rc = fdatasync(fd);
    close(fd);
    return rc;
}

struct gw_journal *gw_journal_open(const char *path, char *why, size_t whysz)
{
    struct gw_journal *j = calloc(1, sizeof(*j));

    if (!j) {
        snprintf(why, whysz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&j->lock, NULL);
    gw_sync_group_init(&j->sync, journal_sync, j);
    snprintf(j->path, sizeof(j->path), "%s", path);
    j->fd = -1;
    if (journal_load(j, why, whysz) < 0 || journal_compact(j, why, whysz) < 0) {
        gw_journal_close(j);
        return NULL;
    }
    j->carried = j->n;
    return j;
}

void gw_journal_close(struct gw_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0) {
        if (j->pending.len)
            sg_write_all(j->fd, (const char *)j->pending.data, j->pending.len);
        close(j->fd);
    }
    for (size_t i = 0; i < j->n; i++)
        free(j->v[i].key);
    free(j->v);
    sg_buf_free(&j->pending);
    gw_sync_group_destroy(&j->sync);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

size_t gw_journal_carried(const struct gw_journal *j)
{
    return j->carried;
}

int gw_journal_find(struct gw_journal *j, const char *key, struct gw_journal_entry *out)
{
    struct entry *x;

    pthread_mutex_lock(&j->lock);
    x = entry_find(j, key);
    if (x)
        *out = x->e;
    pthread_mutex_unlock(&j->lock);
    return x != NULL;
}

int gw_journal_has_tmp(struct gw_journal *j, const char *tmp)
{
    int found = 0;

    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->n && !found; i++)
        found = strcmp(j->v[i].e.tmp, tmp) == 0;
    pthread_mutex_unlock(&j->lock);
    return found;
}

uint32_t gw_journal_tmp_top(struct gw_journal *j)
{
    uint32_t top = 0;

    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->n; i++) {
        const char *t = j->v[i].e.tmp;
        char *end;
        unsigned long v;

        if (t[0] != 'G')
            continue;
        v = strtoul(t + 1, &end, 16);
        if (end == t + 8 && v + 1 > top)
            top = (uint32_t)v + 1;
    }
    pthread_mutex_unlock(&j->lock);
    return top;
}

/* Append text (with the A records waiting) under the lock; compacts first when the file is big. */
static int journal_append(struct gw_journal *j, const char *text, size_t len, char *why,
                          size_t whysz)
{
    if (j->size > JOURNAL_COMPACT_BYTES && journal_compact(j, why, whysz) < 0)
        return -1;
    if ((j->pending.len &&
         sg_write_all(j->fd, (const char *)j->pending.data, j->pending.len) < 0) ||
        sg_write_all(j->fd, text, len) < 0) {
        snprintf(why, whysz, "journal %s: write: %s", j->path, strerror(errno));
        return -1;
    }
    j->size += (off_t)(j->pending.len + len);
    sg_buf_reset(&j->pending);
    return 0;
}

int gw_journal_intent(struct gw_journal *j, const char *key, const char *tmp, char *why,
                      size_t whysz)
{
    char line[JOURNAL_LINE_MAX];
    long long now = (long long)time(NULL);
    int len = snprintf(line, sizeof(line), "I %s %s %lld\n", key, tmp, now), rc, err = 0;
    uint64_t ticket;

    why[0] = '\0';
    if (len < 0 || (size_t)len >= sizeof(line) || strchr(key, ' ') || strchr(key, '\n')) {
        snprintf(why, whysz, "journal %s: key %.300s cannot be written", j->path, key);
        return -1;
    }
    pthread_mutex_lock(&j->lock);
    rc = entry_add(j, key, tmp, now) ? journal_append(j, line, (size_t)len, why, whysz) : -1;
    if (rc < 0) {
        struct entry *x = entry_find(j, key);

        if (x)
            entry_drop(j, x);
        if (!why[0])
            snprintf(why, whysz, "journal %s: out of memory", j->path);
    }
    ticket = gw_sync_group_note(&j->sync); /* noted under the lock: after the write, in order */
    pthread_mutex_unlock(&j->lock);
    if (rc < 0)
        return -1;
    if (gw_sync_group_wait(&j->sync, ticket, &err) < 0) {
        snprintf(why, whysz, "journal %s: fdatasync: %s", j->path, strerror(err));
        return -1;
    }
    return 0;
}

void gw_journal_renamed(struct gw_journal *j, const char *key, const char *final)
{
    char line[JOURNAL_LINE_MAX], why[256];
    int len = snprintf(line, sizeof(line), "D %s %s\n", key, final);
    struct entry *x;

    pthread_mutex_lock(&j->lock);
    if ((x = entry_find(j, key))) {
        snprintf(x->e.final, sizeof(x->e.final), "%s", final);
        why[0] = '\0';
        if (journal_append(j, line, (size_t)len, why, sizeof(why)) < 0)
            log_warn(
                "%s",
                why); /* only a hint is lost: the entry's temporary file is gone all the same */
    }
    pthread_mutex_unlock(&j->lock);
}

void gw_journal_answered(struct gw_journal *j, const char *key)
{
    struct entry *x;

    pthread_mutex_lock(&j->lock);
    if ((x = entry_find(j, key))) {
        entry_drop(j, x);
        /* Out of memory, the record is lost: only a hint, the entry is gone all the same. */
        sg_buf_printf(&j->pending, "A %s\n", key);
    }
    pthread_mutex_unlock(&j->lock);
}
