/* router_secrets.c - the smarthost secrets file: parsed purely, loaded only with a safe owner and mode, wiped when freed. */
#include "router_secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRETS_FILE_MAX (1024 * 1024) /* a secrets file larger than this is refused */

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Append "name:line: reason" (one a line), never overflowing. */
static void report(char *err, size_t errsz, const char *name, size_t line, const char *reason)
{
    size_t used = err ? strlen(err) : 0;

    if (!err || used + 1 >= errsz)
        return;
    snprintf(err + used, errsz - used, "%s%s:%zu: %s", used ? "\n" : "", name, line, reason);
}

static const char *parse_line(const char *line, size_t n, struct router_secret *s)
{
    const char *w;
    size_t pos = 0, wn;

    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return "control character in line";
    }
    wn = tm_next_token(line, n, &pos, &w);
    if (!tm_auth_name_valid(w, wn))
        return "bad credentials name (1-63 letters, digits, '.', '_' or '-')";
    memcpy(s->name, w, wn);
    wn = tm_next_token(line, n, &pos, &w);
    if (wn == 0)
        return "expected NAME USER PASSWORD (no user)";
    if (wn > ROUTER_SECRET_MAX)
        return "user name too long (at most 255 octets)";
    memcpy(s->user, w, wn);
    while (pos < n && is_blank(line[pos]))
        pos++;
    while (n > pos && is_blank(line[n - 1]))
        n--;
    if (pos == n)
        return "expected NAME USER PASSWORD (no password)";
    if (n - pos > ROUTER_SECRET_MAX)
        return "password too long (at most 255 octets)";
    memcpy(s->pass, line + pos, n - pos);
    return NULL;
}

static int only_blanks_or_comment(const char *line, size_t n)
{
    size_t i = 0;

    while (i < n && is_blank(line[i]))
        i++;
    return i == n || line[i] == '#';
}

/* A line parsed into s: a reason it cannot be one of v[0..n) (a name given twice), or NULL. */
static const char *duplicate(const struct router_secret *v, size_t n, const struct router_secret *s,
                             char *buf, size_t bufsz)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].name, s->name) == 0) {
            snprintf(buf, bufsz, "credentials %s given twice", s->name);
            return buf;
        }
    }
    return NULL;
}

int router_secrets_parse(const char *text, size_t len, const char *name, struct router_secrets *out,
                         char *err, size_t errsz)
{
    struct router_secret *v = NULL, s;
    size_t n = 0, cap = 1, lineno = 0, pos = 0;
    int bad = 0;
    char buf[128];

    if (err && errsz)
        err[0] = '\0';
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; text && i < len; i++) /* room for every line at once: no copy is left */
        cap += text[i] == '\n';              /* behind by a realloc */
    if (text && len && !(v = calloc(cap, sizeof(*v)))) {
        report(err, errsz, name, 1, "out of memory");
        return -1;
    }
    while (text && pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        const char *why;

        pos += ll + (nl ? 1 : 0);
        lineno++;
        if (ll > 0 && line[ll - 1] == '\r')
            ll--;
        if (only_blanks_or_comment(line, ll))
            continue;
        why = parse_line(line, ll, &s);
        if (!why)
            why = duplicate(v, n, &s, buf, sizeof(buf));
        if (why) {
            report(err, errsz, name, lineno, why);
            bad = 1;
        } else {
            v[n++] = s;
        }
        explicit_bzero(&s, sizeof(s));
    }
    out->v = v;
    out->n = n;
    if (bad) {
        router_secrets_free(out);
        return -1;
    }
    return 0;
}

/* The file open on fd may hold secrets: a regular file, owned by root or uid, no access for
 * others and no write for the group. */
static int check_mode(int fd, const char *path, uid_t uid, char *err, size_t errsz)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "%s: not a regular file", path);
        return -1;
    }
    if (st.st_uid != 0 && st.st_uid != uid) {
        snprintf(err, errsz, "%s: owned by uid %u: the owner must be root or the router's user",
                 path, (unsigned)st.st_uid);
        return -1;
    }
    if (st.st_mode & 0027) {
        snprintf(err, errsz,
                 "%s: mode %04o: others may not have any access and the group may not write "
                 "(chmod 0600, or 0640 with group spoolgate-router)",
                 path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    if (st.st_size > SECRETS_FILE_MAX) {
        snprintf(err, errsz, "%s: larger than %d octets", path, SECRETS_FILE_MAX);
        return -1;
    }
    return 0;
}

int router_secrets_load(const char *path, uid_t uid, struct router_secrets *out, char *err,
                        size_t errsz)
{
    char text[SECRETS_FILE_MAX + 1];
    size_t len = 0;
    ssize_t got = 1;
    int fd, rc;

    memset(out, 0, sizeof(*out));
    if (!path || !path[0])
        return 0;
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (check_mode(fd, path, uid, err, errsz) < 0) {
        close(fd);
        return -1;
    }
    while (len < sizeof(text) && (got = read(fd, text + len, sizeof(text) - len)) > 0)
        len += (size_t)got;
    close(fd);
    if (got < 0 || len == sizeof(text)) {
        snprintf(err, errsz, "%s: %s", path, got < 0 ? strerror(errno) : "too large");
        explicit_bzero(text, len);
        return -1;
    }
    rc = router_secrets_parse(text, len, path, out, err, errsz);
    explicit_bzero(text, len);
    return rc;
}

const struct router_secret *router_secrets_find(const struct router_secrets *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

int router_secrets_cover(const struct router_secrets *s, const struct transport_map *map,
                         const char *relayhost_auth, char *err, size_t errsz)
{
    if (relayhost_auth && relayhost_auth[0] && !router_secrets_find(s, relayhost_auth)) {
        snprintf(err, errsz, "router.relayhost_auth names credentials %s, which %s", relayhost_auth,
                 s->n ? "router.smarthost_secrets does not have" : "no secrets file gives");
        return -1;
    }
    for (size_t i = 0; map && i < map->n; i++) {
        const struct tm_entry *e = &map->v[i];

        if (e->auth[0] && !router_secrets_find(s, e->auth)) {
            snprintf(err, errsz, "the transport map's entry for %s names credentials %s, which %s",
                     e->domain, e->auth,
                     s->n ? "router.smarthost_secrets does not have" : "no secrets file gives");
            return -1;
        }
    }
    return 0;
}

void router_secrets_free(struct router_secrets *s)
{
    if (!s)
        return;
    if (s->v)
        explicit_bzero(s->v, s->n * sizeof(*s->v));
    free(s->v);
    s->v = NULL;
    s->n = 0;
}
