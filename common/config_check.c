/* config_check.c - pure validators of config values beyond their type: networks, listeners, next hops, DNS servers; inline comments and quotes. */
#include "config_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_cidr.h"
#include "store_addr.h"
#include "transport_map.h"

/* Every key with a check; the rest are only typed and ranged (config_keys.c). */
static const struct {
    const char *section, *name;
    enum cfg_check kind;
} cfg_checks[] = {
    {"smtpd", "mynetworks", CFG_CHECK_CIDR_LIST},
    {"smtpd", "listen", CFG_CHECK_LISTEN_LIST},
    {"smtpd", "submission_listen", CFG_CHECK_LISTEN_LIST},
    {"router", "relayhost", CFG_CHECK_NEXTHOP},
    {"router", "dns_servers", CFG_CHECK_DNS_SERVERS},
    {"global", "store", CFG_CHECK_STORE_LIST},
    {"store", "ipc_listen", CFG_CHECK_LISTEN_LIST},
};

enum cfg_check cfg_check_kind(const char *section, const char *name)
{
    for (size_t i = 0; i < sizeof(cfg_checks) / sizeof(cfg_checks[0]); i++)
        if (strcmp(cfg_checks[i].section, section) == 0 && strcmp(cfg_checks[i].name, name) == 0)
            return cfg_checks[i].kind;
    return CFG_CHECK_NONE;
}

int cfg_check_value(enum cfg_check kind, const char *value, char *why, size_t whysz)
{
    if (!value[0])
        return 0;
    switch (kind) {
    case CFG_CHECK_NONE:
        return 0;
    case CFG_CHECK_CIDR_LIST:
        return cfg_check_cidr_list(value, why, whysz);
    case CFG_CHECK_LISTEN_LIST:
        return cfg_check_listen_list(value, why, whysz);
    case CFG_CHECK_NEXTHOP:
        return cfg_check_nexthop(value, why, whysz);
    case CFG_CHECK_DNS_SERVERS:
        return cfg_check_dns_servers(value, why, whysz);
    case CFG_CHECK_STORE_LIST:
        return cfg_check_store_list(value, why, whysz);
    }
    return 0;
}

const char *cfg_list_word(const char **p, size_t *len)
{
    const char *w = *p + strspn(*p, " \t,");

    if (!*w)
        return NULL;
    *len = strcspn(w, " \t,");
    *p = w + *len;
    return w;
}

int cfg_check_store_list(const char *s, char *why, size_t whysz)
{
    struct sc_addr_list l;

    return sc_addr_parse(s, &l, why, whysz);
}

int cfg_check_cidr_list(const char *s, char *why, size_t whysz)
{
    struct smtp_cidr nets[SMTP_CIDR_LIST_MAX];
    char err[200];

    if (smtp_cidr_parse_list(s, nets, SMTP_CIDR_LIST_MAX, err, sizeof(err)) < 0) {
        snprintf(why, whysz, "%s (expected a list of address/prefix, e.g. 10.0.0.0/8 [::1]/128)",
                 err);
        return -1;
    }
    return 0;
}

/* "65535" and nothing else: 1..65535. */
static int cfg_port_parse(const char *s, int *port)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

/* "host" of hlen bytes as an IPv4 (v6 = 0) or IPv6 (v6 = 1) address into ss. */
static int cfg_ip_parse(const char *host, size_t hlen, int v6, int port,
                        struct sockaddr_storage *ss)
{
    char buf[64];

    if (hlen == 0 || hlen >= sizeof(buf))
        return -1;
    memcpy(buf, host, hlen);
    buf[hlen] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, buf, &a->sin6_addr) == 1 ? 0 : -1;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;

        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        return inet_pton(AF_INET, buf, &a->sin_addr) == 1 ? 0 : -1;
    }
}

int cfg_listen_addr_parse(const char *word, struct sockaddr_storage *ss, char *why, size_t whysz)
{
    const char *host = word, *port_text;
    size_t hlen;
    int port, v6 = word[0] == '[';

    if (v6) {
        const char *close = strchr(word, ']');

        if (!close || close[1] != ':') {
            snprintf(why, whysz, "\"%s\": expected [address]:port", word);
            return -1;
        }
        host = word + 1;
        hlen = (size_t)(close - host);
        port_text = close + 2;
    } else {
        const char *colon = strchr(word, ':');

        if (!colon || strchr(colon + 1, ':')) {
            snprintf(why, whysz, "\"%s\": expected address:port (IPv6 as [address]:port)", word);
            return -1;
        }
        hlen = (size_t)(colon - word);
        port_text = colon + 1;
    }
    if (cfg_port_parse(port_text, &port) < 0) {
        snprintf(why, whysz, "\"%s\": bad port (1..65535)", word);
        return -1;
    }
    if (cfg_ip_parse(host, hlen, v6, port, ss) < 0) {
        snprintf(why, whysz, "\"%s\": not an IPv%d address", word, v6 ? 6 : 4);
        return -1;
    }
    return 0;
}

int cfg_check_listen_list(const char *s, char *why, size_t whysz)
{
    char buf[1100];
    char *save = NULL;
    struct sockaddr_storage ss;

    if (strlen(s) >= sizeof(buf)) {
        snprintf(why, whysz, "too long");
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *w = strtok_r(buf, " ,", &save); w; w = strtok_r(NULL, " ,", &save))
        if (cfg_listen_addr_parse(w, &ss, why, whysz) < 0)
            return -1;
    return 0;
}

int cfg_check_nexthop(const char *s, char *why, size_t whysz)
{
    const char *problem = tm_nexthop_problem(s);

    if (!problem)
        return 0;
    snprintf(why, whysz, "\"%s\": %s (expected [host]:port, [host], host:port or host)", s,
             problem);
    return -1;
}

/* One c-ares server: "1.2.3.4", "1.2.3.4:53", "[::1]:53", "[::1]" or "::1". */
static int cfg_dns_server_ok(const char *w)
{
    struct sockaddr_storage ss;
    const char *colon;
    int port = 53;

    if (w[0] == '[') {
        const char *close = strchr(w, ']');

        if (!close || (close[1] && (close[1] != ':' || cfg_port_parse(close + 2, &port) < 0)))
            return 0;
        return cfg_ip_parse(w + 1, (size_t)(close - w - 1), 1, port, &ss) == 0;
    }
    colon = strchr(w, ':');
    if (colon && strchr(colon + 1, ':'))
        return cfg_ip_parse(w, strlen(w), 1, port, &ss) == 0;
    if (colon && cfg_port_parse(colon + 1, &port) < 0)
        return 0;
    return cfg_ip_parse(w, colon ? (size_t)(colon - w) : strlen(w), 0, port, &ss) == 0;
}

int cfg_check_dns_servers(const char *s, char *why, size_t whysz)
{
    char buf[1100];
    char *save = NULL;

    if (strlen(s) >= sizeof(buf)) {
        snprintf(why, whysz, "too long");
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", s);
    if (strchr(buf, ' ') || strchr(buf, '\t')) {
        snprintf(why, whysz, "\"%s\": separate servers with commas, without spaces", s);
        return -1;
    }
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
        if (!cfg_dns_server_ok(w)) {
            snprintf(why, whysz, "\"%s\": expected ip, ip:port or [ipv6]:port", w);
            return -1;
        }
    return 0;
}

size_t cfg_comment_start(const char *line)
{
    size_t i;

    for (i = 0; line[i]; i++)
        if ((line[i] == ';' || line[i] == '#') && i > 0 &&
            (line[i - 1] == ' ' || line[i - 1] == '\t'))
            break;
    return i;
}

int cfg_unquote(const char *in, char *out, size_t outsz, char *why, size_t whysz)
{
    size_t n = strlen(in);

    if (n + 1 > outsz) {
        snprintf(why, whysz, "too long");
        return -1;
    }
    if (in[0] != '"') {
        memcpy(out, in, n + 1);
        return 0;
    }
    if (n < 2 || in[n - 1] != '"') {
        snprintf(why, whysz, "a value that begins with a quote must end with one");
        return -1;
    }
    memcpy(out, in + 1, n - 2);
    out[n - 2] = '\0';
    return 0;
}
