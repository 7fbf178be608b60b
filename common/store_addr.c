/* store_addr.c - where the mail store is: the [global] store address list, parsed (a pure function). */
#include "store_addr.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config_check.h"

int sc_addr_tcp(const char *addr, struct sockaddr_storage *ss, char *host, size_t hostsz)
{
    const char *a = addr + 4, *end;
    char why[160];

    if (strncmp(addr, "tcp:", 4) != 0)
        return 0;
    if (cfg_listen_addr_parse(a, ss, why, sizeof(why)) < 0)
        return -1;
    end = a[0] == '[' ? strchr(a, ']') : strrchr(a, ':');
    a += a[0] == '[';
    if ((size_t)(end - a) >= hostsz)
        return -1;
    memcpy(host, a, (size_t)(end - a));
    host[end - a] = '\0';
    return 1;
}

/* "tcp:ADDRESS:PORT" (numeric, [v6]:port), kept with its scheme. */
static int sc_addr_check_tcp(const char *w, size_t len, char *why, size_t whysz)
{
    char text[SC_ADDR_LEN], err[160];
    struct sockaddr_storage ss;

    if (len >= sizeof(text)) {
        snprintf(why, whysz, "\"%.40s...\": too long for a store address", w);
        return -1;
    }
    memcpy(text, w, len);
    text[len] = '\0';
    if (cfg_listen_addr_parse(text + 4, &ss, err, sizeof(err)) < 0) {
        snprintf(why, whysz, "tcp: store address %s", err);
        return -1;
    }
    return 0;
}

static int sc_addr_one(const char *w, size_t len, struct sc_addr_list *l, char *why, size_t whysz)
{
    const char *colon = memchr(w, ':', len);

    if (colon && (size_t)(colon - w) == 4 && memcmp(w, "unix", 4) == 0) {
        len -= 5;
        w += 5;
    } else if (colon && (size_t)(colon - w) == 3 && memcmp(w, "tcp", 3) == 0) {
        if (sc_addr_check_tcp(w, len, why, whysz) < 0)
            return -1;
    } else if (colon && w[0] != '/') {
        snprintf(why, whysz, "\"%.*s\": a store address is unix:PATH or tcp:ADDRESS:PORT",
                 (int)(colon - w), w);
        return -1;
    }
    if (len == 0 || (w[0] != '/' && strncmp(w, "tcp:", 4) != 0)) {
        snprintf(why, whysz, "\"%.*s\": a store address is an absolute socket path", (int)len, w);
        return -1;
    }
    if (len >= SC_ADDR_LEN) {
        snprintf(why, whysz, "\"%.40s...\": too long for a Unix socket (%d octets at most)", w,
                 SC_ADDR_LEN - 1);
        return -1;
    }
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->path[i]) == len && memcmp(l->path[i], w, len) == 0) {
            snprintf(why, whysz, "\"%.*s\" is given twice", (int)len, w);
            return -1;
        }
    if (l->n == SC_ADDR_MAX) {
        snprintf(why, whysz, "more than %d store addresses", SC_ADDR_MAX);
        return -1;
    }
    memcpy(l->path[l->n], w, len);
    l->path[l->n++][len] = '\0';
    return 0;
}

int sc_addr_parse(const char *list, struct sc_addr_list *l, char *why, size_t whysz)
{
    const char *p = list, *w;
    size_t len;

    l->n = 0;
    while ((w = cfg_list_word(&p, &len)) != NULL)
        if (sc_addr_one(w, len, l, why, whysz) < 0)
            return -1;
    if (l->n == 0) {
        snprintf(why, whysz, "no store address");
        return -1;
    }
    return 0;
}

/* The same socket address: family, address and port (an IPv6 one written two ways is one). */
static int sc_addr_same_tcp(const char *a, const char *b)
{
    struct sockaddr_storage sa, sb;
    char ha[64], hb[64];

    if (sc_addr_tcp(a, &sa, ha, sizeof(ha)) != 1 || sc_addr_tcp(b, &sb, hb, sizeof(hb)) != 1 ||
        sa.ss_family != sb.ss_family)
        return 0;
    if (sa.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&sa, *y = (const void *)&sb;

        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)&sa, *y = (const void *)&sb;

    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

int sc_addr_find(const struct sc_addr_list *l, const char *addr)
{
    struct sc_addr_list one;
    char why[160];

    if (!addr || sc_addr_parse(addr, &one, why, sizeof(why)) < 0 || one.n != 1)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->path[i], one.path[0]) == 0 || sc_addr_same_tcp(l->path[i], one.path[0]))
            return (int)i;
    return -1;
}
