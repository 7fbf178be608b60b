/* fuzz_transport_map.c - fuzzes the transport map parser tm_parse (common/transport_map.c) from text (smtp:, lmtp: and error: entries, tls= and auth= options), its lookup, tm_domain_listed and the next-hop parser. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "transport_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_entry(const struct transport_map *m, const struct tm_entry *t)
{
    char sub[sizeof(t->domain) + 2];
    const struct tm_entry *got;

    if (!TERMINATED(t->domain) || !TERMINATED(t->host) || !TERMINATED(t->status) ||
        !TERMINATED(t->text) || !TERMINATED(t->auth) || t->domain[0] == '\0' || t->port > 65535)
        abort();
    if (t->auth[0] && ((t->kind != TM_SMTP_HOST && t->kind != TM_SMTP_MX) ||
                       (t->tls != TM_TLS_VERIFY && t->tls != TM_TLS_IMPLICIT) ||
                       !tm_auth_name_valid(t->auth, strlen(t->auth))))
        abort(); /* credentials only on smtp: entries, and only over verified TLS */
    if (t->kind != TM_SMTP_HOST && t->kind != TM_SMTP_MX && t->kind != TM_ERROR &&
        t->kind != TM_LMTP_HOST && t->kind != TM_LMTP_UNIX)
        abort();
    if (t->kind == TM_LMTP_UNIX &&
        (t->host[0] != '/' || strlen(t->host) > TM_UNIX_PATH_MAX || t->tls != TM_TLS_DEFAULT))
        abort(); /* an absolute path that fits sun_path, and no TLS on it */
    for (const char *p = t->domain; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            abort(); /* kept in lower case */
    if (t->domain[0] != '.') {
        got = tm_lookup(m, t->domain);
        if (got == NULL || strcasecmp(got->domain, t->domain) != 0)
            abort(); /* an exact entry is found by its domain */
    } else {
        sub[0] = 'x';
        strcpy(sub + 1, t->domain);
        if (tm_lookup(m, sub) == NULL)
            abort(); /* a subdomain entry is found by a subdomain */
    }
}

/* The map written back as text (one line an entry, as the parser reads them) parses to the same
 * entries. */
static void check_rewrite(const struct transport_map *m)
{
    static const char *const tls[] = {"", " tls=none", " tls=may", " tls=verify", " tls=implicit"};
    struct sg_buf b = {0};
    struct transport_map again;
    char port[16];
    char err[1024];

    for (size_t i = 0; i < m->n; i++) {
        const struct tm_entry *t = &m->v[i];

        snprintf(port, sizeof(port), ":%u", t->port);
        if (t->kind == TM_ERROR)
            sg_buf_printf(&b, "%s error:%s %s\n", t->domain, t->status, t->text);
        else if (t->kind == TM_LMTP_UNIX)
            sg_buf_printf(&b, "%s lmtp:unix:%s\n", t->domain, t->host);
        else if (t->kind == TM_LMTP_HOST)
            sg_buf_printf(&b, "%s lmtp:[%s]%s%s\n", t->domain, t->host, t->port ? port : "",
                          tls[t->tls]);
        else
            sg_buf_printf(&b, "%s smtp:%s%s%s%s%s%s%s\n", t->domain,
                          t->kind == TM_SMTP_HOST ? "[" : "", t->host,
                          t->kind == TM_SMTP_HOST ? "]" : "", t->port ? port : "", tls[t->tls],
                          t->auth[0] ? " auth=" : "", t->auth);
    }
    if (b.failed || tm_parse((const char *)b.data, b.len, "again", &again, err, sizeof(err)) != 0)
        abort(); /* what parsed, written back, parses */
    if (again.n != m->n || (m->n && memcmp(again.v, m->v, m->n * sizeof(*m->v)) != 0))
        abort(); /* to the same entries */
    tm_free(&again);
    sg_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1), *z = malloc(size + 1), host[256], err[2048];
    struct transport_map m;
    unsigned port;
    int mx, r;

    if (!text || !z)
        goto out;
    memcpy(text, data, size); /* exact size: reads past len are caught */
    memcpy(z, data, size);
    z[size] = '\0';
    r = tm_parse(text, size, "fuzz", &m, err, sizeof(err));
    if (r == 0) {
        for (size_t i = 0; i < m.n; i++)
            check_entry(&m, &m.v[i]);
        (void)tm_lookup(&m, z);
        check_rewrite(&m);
        tm_free(&m);
    } else if (r != -1 || memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
        abort(); /* an error names the bad line */
    }
    (void)tm_domain_listed("example.org", z);
    (void)tm_domain_listed(z, "example.org .example.net, x");
    r = tm_parse_nexthop(z, host, sizeof(host), &port, &mx);
    if ((r == 0) != (tm_nexthop_problem(z) == NULL))
        abort(); /* the two agree on what a next hop is */
    if (r == 0 && (!TERMINATED(host) || port > 65535))
        abort();
out:
    free(text);
    free(z);
    return 0;
}
