/* spoolctl_status.c - spoolctl status: the store (pid, protocol, generation), every daemon connected to it, the counts, the paused destinations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "spoolctl.h"

#define STATUS_MAX_CLIENTS 4096
#define STATUS_MAX_PAUSED 1024

struct status {
    struct ipc_stats stats;
    struct ipc_client_item *clients;
    size_t nclients;
    struct ipc_pause *paused;
    size_t npaused;
    pid_t store_pid;
    struct ipc_client_item self; /* the store's own item (its version) */
};

static void *grow(void *v, size_t n, size_t size)
{
    if (n && (n & (n - 1)) == 0 && !(v = realloc(v, 2 * n * size)))
        exit(SPOOLCTL_EX_FAIL);
    return v;
}

static void fetch_clients(struct ipc_client *c, struct status *s)
{
    struct ipc_reader r;

    if (ipc_encode_empty(&c->out, IPC_CLIENTS, ipc_client_request_id(c)) < 0)
        exit(SPOOLCTL_EX_FAIL);
    spoolctl_send(c);
    s->clients = calloc(1, sizeof(*s->clients));
    for (;;) {
        spoolctl_recv(c, &r);
        if (r.type == IPC_END)
            return;
        s->clients = grow(s->clients, s->nclients, sizeof(*s->clients));
        if (!s->clients || ipc_decode_client_item(&r, &s->clients[s->nclients]) < 0) {
            fprintf(stderr, "spoolctl: bad clients reply: %s\n", r.error ? r.error : "");
            exit(SPOOLCTL_EX_FAIL);
        }
        if (strcmp(s->clients[s->nclients].role, "store") == 0 && !s->self.program[0])
            s->self = s->clients[s->nclients]; /* the store's own item, first */
        else if (s->nclients < STATUS_MAX_CLIENTS)
            s->nclients++;
    }
}

static void fetch_paused(struct ipc_client *c, struct status *s)
{
    struct ipc_reader r;

    if (ipc_encode_empty(&c->out, IPC_PAUSE_LIST, ipc_client_request_id(c)) < 0)
        exit(SPOOLCTL_EX_FAIL);
    spoolctl_send(c);
    s->paused = malloc(sizeof(*s->paused));
    for (;;) {
        spoolctl_recv(c, &r);
        if (r.type == IPC_END)
            return;
        s->paused = grow(s->paused, s->npaused, sizeof(*s->paused));
        if (!s->paused || ipc_decode_pause(&r, &s->paused[s->npaused]) < 0) {
            fprintf(stderr, "spoolctl: bad pause list reply: %s\n", r.error ? r.error : "");
            exit(SPOOLCTL_EX_FAIL);
        }
        if (s->npaused < STATUS_MAX_PAUSED)
            s->npaused++;
    }
}

static const char *paused_name(const struct ipc_pause *p)
{
    return p->flags & IPC_ADMIN_ALL ? "ALL" : p->domain;
}

static void status_text(const struct ipc_client *c, const struct status *s)
{
    char t[32];

    printf("store: %s version %s pid %d protocol %u.%u generation %llu started %s\n",
           c->peer.program, s->self.version[0] ? s->self.version : "?", (int)s->store_pid,
           c->peer.major, c->peer.minor, (unsigned long long)s->stats.generation,
           spoolctl_iso_time(s->stats.started_us, t, sizeof(t)));
    printf("connected: %zu\n", s->nclients);
    for (size_t i = 0; i < s->nclients; i++) {
        const struct ipc_client_item *it = &s->clients[i];
        printf("  %-22s role=%-8s pid=%u uid=%u protocol=%s caps=%s\n", it->program, it->role,
               it->pid, it->uid, it->version, it->caps);
    }
    printf("messages: %llu\nrecipients:", (unsigned long long)s->stats.messages);
    for (uint32_t i = 0; i < RCPT_STATE_COUNT; i++)
        printf(" %s=%llu", rcpt_state_name(i), (unsigned long long)s->stats.by_state[i]);
    printf("\npaused:");
    for (size_t i = 0; i < s->npaused; i++)
        printf(" %s", paused_name(&s->paused[i]));
    printf("%s\n", s->npaused ? "" : " none");
}

static void status_json(const struct ipc_client *c, const struct status *s)
{
    int first = 1, f2 = 1;
    char ver[32];

    snprintf(ver, sizeof(ver), "%u.%u", c->peer.major, c->peer.minor);
    fputs("{\"store\":{", stdout);
    spoolctl_json_kv_str(stdout, &f2, "program", c->peer.program);
    spoolctl_json_kv_u64(stdout, &f2, "pid", (uint64_t)s->store_pid);
    spoolctl_json_kv_str(stdout, &f2, "version", s->self.version);
    spoolctl_json_kv_str(stdout, &f2, "protocol", ver);
    fputc('}', stdout);
    first = 0;
    spoolctl_json_key(stdout, &first, "clients");
    fputc('[', stdout);
    for (size_t i = 0; i < s->nclients; i++) {
        const struct ipc_client_item *it = &s->clients[i];
        f2 = 1;
        fputs(i ? ",{" : "{", stdout);
        spoolctl_json_kv_str(stdout, &f2, "program", it->program);
        spoolctl_json_kv_str(stdout, &f2, "role", it->role);
        spoolctl_json_kv_u64(stdout, &f2, "pid", it->pid);
        spoolctl_json_kv_u64(stdout, &f2, "uid", it->uid);
        spoolctl_json_kv_str(stdout, &f2, "protocol", it->version);
        spoolctl_json_kv_str(stdout, &f2, "caps", it->caps);
        fputc('}', stdout);
    }
    fputs("],\"paused\":[", stdout);
    for (size_t i = 0; i < s->npaused; i++) {
        fputs(i ? "," : "", stdout);
        spoolctl_json_str(stdout, paused_name(&s->paused[i]));
    }
    fputs("]", stdout);
    printf(",\"generation\":%llu,\"messages\":%llu,\"recipients\":{",
           (unsigned long long)s->stats.generation, (unsigned long long)s->stats.messages);
    f2 = 1;
    for (uint32_t i = 0; i < RCPT_STATE_COUNT; i++)
        spoolctl_json_kv_u64(stdout, &f2, rcpt_state_name(i), s->stats.by_state[i]);
    fputs("}}\n", stdout);
}

int spoolctl_cmd_status(struct ipc_client *c, int argc, char **argv)
{
    struct spoolctl_opts o;
    struct status s = {0};
    struct ucred cred;
    socklen_t len = sizeof(cred);

    spoolctl_opts_parse(argc, argv, "j", &o);
    if (o.nargs)
        spoolctl_usage_error("status: unexpected argument \"%s\"", o.args[0]);
    spoolctl_connect(c);
    if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
        s.store_pid = cred.pid;
    spoolctl_get_stats(c, &s.stats);
    fetch_clients(c, &s);
    fetch_paused(c, &s);
    if (o.json)
        status_json(c, &s);
    else
        status_text(c, &s);
    free(s.clients);
    free(s.paused);
    return 0;
}
