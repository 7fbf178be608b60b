/* alias_map.c - the alias and sender canonical maps: parser, lookup, recursive expansion with loop and size limits, one-step rewrite; all pure. */
#include "alias_map.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array.h"
#include "smtp_addr.h"
#include "transport_map.h"

#define AM_FILE_MAX (64u * 1024 * 1024) /* a map file larger than this is refused */
#define AM_STEPS_PER_ADDR 10 /* alias lookups an expansion may make, per address allowed */
#define AM_STEPS_MIN 1000
#define AM_FLAGS (SMTP_ADDR_UTF8 | SMTP_ADDR_NO_QUOTED | SMTP_ADDR_LAX_HYPHEN)

static void am_report(char *err, size_t errsz, const char *name, size_t line, const char *reason)
{
    size_t used = err ? strlen(err) : 0;

    if (!err || used + 1 >= errsz)
        return;
    snprintf(err + used, errsz - used, "%s%s:%zu: %s", used ? "\n" : "", name, line, reason);
}

static const char *am_key_at(const struct alias_map *m, const struct am_entry *e)
{
    return (const char *)m->pool.data + e->key;
}

/* A key or value: a mailbox, or "@domain".  NULL or the reason (in rbuf). */
static const char *am_check_addr(const char *s, size_t n, const char *what, unsigned utf8,
                                 char *rbuf, size_t rbufsz)
{
    const char *why = NULL;
    unsigned flags = (AM_FLAGS & ~SMTP_ADDR_UTF8) | utf8;

    if (n > IPC_ADDR_MAX)
        why = "longer than 511 octets";
    else if (n > 0 && s[0] == '@')
        smtp_domain_check(s + 1, n - 1, utf8 | SMTP_ADDR_LAX_HYPHEN, &why);
    else
        smtp_addr_check(s, n, flags, &why);
    if (!why)
        return NULL;
    snprintf(rbuf, rbufsz, "bad %s '%.*s': %s", what, n > 80 ? 80 : (int)n, s, why);
    return rbuf;
}

/* Append s[0..n) and a NUL to the pool, lower-cased when lower; its offset or (size_t)-1. */
static size_t am_pool_add(struct sg_buf *pool, const char *s, size_t n, int lower)
{
    size_t off = pool->len;

    if (sg_buf_reserve(pool, n + 1) < 0)
        return (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        pool->data[pool->len++] = (uint8_t)(lower && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    pool->data[pool->len++] = '\0';
    return off;
}

/* The next value of line[*pos..n): separated by commas and blanks. */
static size_t am_next_value(const char *line, size_t n, size_t *pos, const char **v)
{
    size_t i = *pos, start;

    while (i < n && (line[i] == ',' || line[i] == ' ' || line[i] == '\t'))
        i++;
    start = i;
    while (i < n && line[i] != ',' && line[i] != ' ' && line[i] != '\t')
        i++;
    *v = line + start;
    *pos = i;
    return i - start;
}

static const char *am_parse_line(const char *line, size_t n, int single, struct alias_map *m,
                                 struct am_entry *e, char *rbuf, size_t rbufsz)
{
    const char *tok, *why;
    size_t pos = 0, tn = tm_next_token(line, n, &pos, &tok);

    if ((why = am_check_addr(tok, tn, "key", SMTP_ADDR_UTF8, rbuf, rbufsz)))
        return why;
    if ((e->key = am_pool_add(&m->pool, tok, tn, 1)) == (size_t)-1)
        return "out of memory";
    e->vals = m->pool.len;
    e->nval = 0;
    while ((tn = am_next_value(line, n, &pos, &tok)) > 0) {
        if (tok[0] == '#')
            break;
        if ((why = am_check_addr(tok, tn, "address", single ? 0 : SMTP_ADDR_UTF8, rbuf, rbufsz)))
            return why;
        if (single && e->nval == 1)
            return "more than one address (this map rewrites to one)";
        if (am_pool_add(&m->pool, tok, tn, 0) == (size_t)-1)
            return "out of memory";
        e->nval++;
    }
    return e->nval ? NULL : "expected KEY ADDRESS[, ADDRESS ...] (no address)";
}

static int am_cmp_sort(const void *a, const void *b, void *pool)
{
    const char *p = pool;

    return strcmp(p + ((const struct am_entry *)a)->key, p + ((const struct am_entry *)b)->key);
}

/* Sorted by key, a key given twice is reported at its second line. */
static int am_sort_check(struct alias_map *m, const char *name, char *err, size_t errsz)
{
    char rbuf[IPC_ADDR_MAX + 64];
    int bad = 0;

    if (m->n == 0)
        return 0;
    qsort_r(m->v, m->n, sizeof(*m->v), am_cmp_sort, m->pool.data);
    for (size_t i = 1; i < m->n; i++) {
        const struct am_entry *a = &m->v[i - 1], *b = &m->v[i];

        if (strcmp(am_key_at(m, a), am_key_at(m, b)) == 0) {
            snprintf(rbuf, sizeof(rbuf), "%s given twice (first at line %zu)", am_key_at(m, b),
                     a->line < b->line ? a->line : b->line);
            am_report(err, errsz, name, a->line > b->line ? a->line : b->line, rbuf);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

/* Line length without a '#' comment that starts the line or follows a blank. */
static size_t am_cut_comment(const char *line, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
            return i;
    return n;
}

int router_am_parse(const char *text, size_t len, const char *name, int single,
                    struct alias_map *map, char *err, size_t errsz)
{
    size_t pos = 0, lineno = 0, cap = 0;
    int bad = 0;

    if (err && errsz)
        err[0] = '\0';
    memset(map, 0, sizeof(*map));
    while (text && pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos), *tok, *why = NULL;
        size_t ll = nl ? (size_t)(nl - line) : len - pos, p = 0;
        char rbuf[IPC_ADDR_MAX + 64];
        struct am_entry e = {0};

        pos += ll + (nl ? 1 : 0);
        lineno++;
        ll = am_cut_comment(line, ll);
        while (ll > 0 && (line[ll - 1] == ' ' || line[ll - 1] == '\t' || line[ll - 1] == '\r'))
            ll--;
        if (tm_next_token(line, ll, &p, &tok) == 0)
            continue;
        for (size_t i = 0; i < ll && !why; i++)
            if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
                why = "control character in line";
        if (!why && sg_array_reserve(&map->v, &cap, map->n + 1, sizeof(*map->v)) < 0)
            why = "out of memory";
        if (!why)
            why = am_parse_line(line, ll, single, map, &e, rbuf, sizeof(rbuf));
        if (why) {
            am_report(err, errsz, name, lineno, why);
            bad = 1;
            continue;
        }
        e.line = lineno;
        map->v[map->n++] = e;
    }
    if (am_sort_check(map, name, err, errsz) < 0) /* with the bad lines, if any: all at once */
        bad = 1;
    if (bad) {
        router_am_free(map);
        return -1;
    }
    return 0;
}

int router_am_load_file(const char *path, int single, struct alias_map *map, char *err,
                        size_t errsz)
{
    struct sg_buf text = {0};
    FILE *f;
    int rc;

    memset(map, 0, sizeof(*map));
    if (!path || !path[0])
        return 0;
    if (!(f = fopen(path, "re"))) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    rc = sg_buf_read_stream(&text, f);
    fclose(f);
    if (rc < 0 || text.len > AM_FILE_MAX) {
        snprintf(err, errsz, "%s: %s", path, rc < 0 ? "cannot read it" : "larger than 64 MiB");
        sg_buf_free(&text);
        return -1;
    }
    rc = router_am_parse((const char *)text.data, text.len, path, single, map, err, errsz);
    sg_buf_free(&text);
    return rc;
}

void router_am_free(struct alias_map *map)
{
    free(map->v);
    sg_buf_free(&map->pool);
    memset(map, 0, sizeof(*map));
}

static const struct am_entry *am_find(const struct alias_map *m, const char *key)
{
    size_t lo = 0, hi = m->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcasecmp(key, am_key_at(m, &m->v[mid]));

        if (c == 0)
            return &m->v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct am_entry *router_am_lookup(const struct alias_map *map, const char *addr)
{
    const struct am_entry *e;
    const char *at = strrchr(addr, '@');

    if (!map || map->n == 0 || !at)
        return NULL;
    if ((e = am_find(map, addr)))
        return e;
    return am_find(map, at);
}

int router_am_value(const struct alias_map *map, const struct am_entry *e, unsigned i,
                    const char *addr, char *out, size_t outsz)
{
    const char *v = (const char *)map->pool.data + e->vals;
    int n;

    for (unsigned k = 0; k < i; k++)
        v += strlen(v) + 1;
    if (v[0] == '@') {
        const char *at = strrchr(addr, '@');

        n = snprintf(out, outsz, "%.*s%s", at ? (int)(at - addr) : (int)strlen(addr), addr, v);
    } else {
        n = snprintf(out, outsz, "%s", v);
    }
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* ---- expansion ------------------------------------------------------------------------ */

struct am_walk {
    const struct alias_map *map;
    size_t limit;
    struct am_expansion *out;
    const char *path[AM_DEPTH_MAX + 1]; /* the aliases being expanded, outermost first */
    unsigned depth;
    size_t steps, steps_max; /* lookups made, and allowed: a wide map nested deep is bounded */
    char *why;
    size_t whysz;
};

static enum am_result am_add_final(struct am_walk *w, const char *addr)
{
    struct am_expansion *x = w->out;

    for (size_t i = 0; i < x->n; i++)
        if (strcasecmp(x->addr[i], addr) == 0)
            return AM_EXPANDED;
    if (x->n >= w->limit) {
        snprintf(w->why, w->whysz, "the alias expansion of <%s> exceeds %zu addresses", w->path[0],
                 w->limit);
        return AM_LIMIT;
    }
    if (sg_array_reserve(&x->addr, &x->cap, x->n + 1, sizeof(*x->addr)) < 0)
        return AM_NOMEM;
    snprintf(x->addr[x->n++], sizeof(x->addr[0]), "%s", addr);
    return AM_EXPANDED;
}

/* "a -> b -> c -> b": the chain from the outermost alias to addr. */
static void am_loop_why(struct am_walk *w, const char *addr, const char *what)
{
    size_t used = (size_t)snprintf(w->why, w->whysz, "%s: ", what);

    for (unsigned i = 0; i < w->depth && used < w->whysz; i++)
        used += (size_t)snprintf(w->why + used, w->whysz - used, "<%s> -> ", w->path[i]);
    if (used < w->whysz)
        snprintf(w->why + used, w->whysz - used, "<%s>", addr);
}

static enum am_result am_walk_addr(struct am_walk *w, const char *addr)
{
    const struct am_entry *e = router_am_lookup(w->map, addr);
    char next[IPC_ADDR_MAX + 1];
    enum am_result rc = AM_EXPANDED;

    if (!e)
        return am_add_final(w, addr);
    if (++w->steps > w->steps_max) {
        snprintf(w->why, w->whysz, "the alias expansion of <%s> takes more than %zu lookups",
                 w->path[0], w->steps_max);
        return AM_LIMIT;
    }
    for (unsigned i = 0; i < w->depth; i++) {
        if (strcasecmp(w->path[i], addr) == 0) {
            am_loop_why(w, addr, "alias loop");
            return AM_LOOP;
        }
    }
    if (w->depth == AM_DEPTH_MAX) {
        am_loop_why(w, addr, "aliases nested deeper than 20");
        return AM_LOOP;
    }
    w->path[w->depth++] = addr;
    for (unsigned i = 0; i < e->nval && rc == AM_EXPANDED; i++) {
        if (router_am_value(w->map, e, i, addr, next, sizeof(next)) < 0) {
            snprintf(w->why, w->whysz, "the alias of <%s> makes an address over 511 octets", addr);
            rc = AM_LOOP;
        } else if (strcasecmp(next, addr) == 0) {
            rc = am_add_final(w, addr); /* "anna: anna, bob": anna's own mailbox too */
        } else {
            rc = am_walk_addr(w, next);
        }
    }
    w->path[--w->depth] = NULL; /* addr may be the caller's buffer */
    return rc;
}

enum am_result router_am_expand(const struct alias_map *map, const char *addr, size_t limit,
                                struct am_expansion *out, char *why, size_t whysz)
{
    size_t lim = limit ? limit : 1;
    struct am_walk w = {.map = map,
                        .limit = lim,
                        .out = out,
                        .why = why,
                        .whysz = whysz,
                        .steps_max = AM_STEPS_PER_ADDR * lim + AM_STEPS_MIN};
    enum am_result rc;

    memset(out, 0, sizeof(*out));
    if (why && whysz)
        why[0] = '\0';
    if (!router_am_lookup(map, addr))
        return AM_NOT_ALIAS;
    w.path[0] = addr;
    rc = am_walk_addr(&w, addr);
    if (rc != AM_EXPANDED)
        router_am_expansion_free(out);
    if (rc == AM_NOMEM)
        snprintf(why, whysz, "out of memory");
    return rc;
}

void router_am_expansion_free(struct am_expansion *x)
{
    free(x->addr);
    memset(x, 0, sizeof(*x));
}

int router_am_rewrite(const struct alias_map *map, const char *addr, char *out, size_t outsz)
{
    const struct am_entry *e = router_am_lookup(map, addr);

    if (e && router_am_value(map, e, 0, addr, out, outsz) == 0)
        return 1;
    snprintf(out, outsz, "%s", addr);
    return 0;
}
