/* smtpd_clients.c - per-client-address session counts, for the limit on concurrent sessions from one address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd.h"

#define CLIENT_BUCKETS \
    4096u /* entries live only while their sessions do: bounded by max_sessions */

struct smtpd_client {
    struct smtpd_client *next;
    unsigned sessions;
    uint64_t refusal_logged_ms; /* when a refusal of this address was last logged */
    char ip[48];
};

struct smtpd_clients {
    struct smtpd_client *bucket[CLIENT_BUCKETS];
};

static unsigned client_hash(const char *ip)
{
    unsigned h = 2166136261u; /* FNV-1a */

    for (; *ip; ip++)
        h = (h ^ (unsigned char)*ip) * 16777619u;
    return h % CLIENT_BUCKETS;
}

struct smtpd_clients *smtpd_clients_new(void)
{
    return calloc(1, sizeof(struct smtpd_clients));
}

void smtpd_clients_free(struct smtpd_clients *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < CLIENT_BUCKETS; i++)
        while (t->bucket[i]) {
            struct smtpd_client *c = t->bucket[i];

            t->bucket[i] = c->next;
            free(c);
        }
    free(t);
}

static struct smtpd_client *client_find(const struct smtpd_clients *t, const char *ip)
{
    struct smtpd_client *c = t->bucket[client_hash(ip)];

    while (c && strcmp(c->ip, ip) != 0)
        c = c->next;
    return c;
}

unsigned smtpd_clients_add(struct smtpd_clients *t, const char *ip)
{
    unsigned h = client_hash(ip);
    struct smtpd_client *c = client_find(t, ip);

    if (c)
        return ++c->sessions;
    if (!(c = calloc(1, sizeof(*c))))
        return 0; /* out of memory: not counted (the session is refused by its caller) */
    snprintf(c->ip, sizeof(c->ip), "%s", ip);
    c->sessions = 1;
    c->next = t->bucket[h];
    t->bucket[h] = c;
    return 1;
}

void smtpd_clients_remove(struct smtpd_clients *t, const char *ip)
{
    struct smtpd_client **p = &t->bucket[client_hash(ip)];

    for (; *p; p = &(*p)->next) {
        if (strcmp((*p)->ip, ip) != 0)
            continue;
        if (--(*p)->sessions == 0) {
            struct smtpd_client *gone = *p;

            *p = gone->next;
            free(gone);
        }
        return;
    }
}

int smtpd_clients_log_due(struct smtpd_clients *t, const char *ip, uint64_t now_ms)
{
    struct smtpd_client *c = client_find(t, ip);

    if (!c || (c->refusal_logged_ms && now_ms - c->refusal_logged_ms < 60000))
        return 0;
    c->refusal_logged_ms = now_ms;
    return 1;
}
