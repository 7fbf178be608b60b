/* store_client_sync.c - the store's address in the config, the submission's frames built and read alike by both sides of the store client, and the blocking submission for tools over ipc_client. */
#include "store_client.h"

#include <stdio.h>
#include <string.h>

#include "ipc_tls.h"

#define SYNC_SEND_AT (1024u * 1024u) /* buffered octets sent at once */

/* The one place that names the store's socket in the config (no libuv here: tools link it). */
int sc_socket_path(const struct sg_config *cfg, char *buf, size_t bufsz)
{
    struct sc_addr_list l;
    char why[256];

    if (!cfg->global.store[0])
        return config_socket_path(cfg, "store", buf, bufsz);
    if (sc_addr_parse(cfg->global.store, &l, why, sizeof(why)) < 0 ||
        (size_t)snprintf(buf, bufsz, "%s", cfg->global.store) >= bufsz)
        return -1;
    return 0;
}

/* submit.sock in the directory of each address of the list. */
int sc_submit_socket_path(const struct sg_config *cfg, char *buf, size_t bufsz)
{
    struct sc_addr_list l;
    char why[256];
    size_t used = 0;

    if (!cfg->global.store[0])
        return config_socket_path(cfg, IPC_SOCKET_SUBMIT, buf, bufsz);
    if (sc_addr_parse(cfg->global.store, &l, why, sizeof(why)) < 0)
        return -1;
    for (size_t i = 0; i < l.n; i++) {
        const char *slash = strrchr(l.path[i], '/');
        int n;

        if (strncmp(l.path[i], "tcp:", 4) == 0)
            continue; /* submission is for a store on this host: over its Unix socket */
        n = snprintf(buf + used, bufsz - used, "%s%.*s/%s.sock", used ? " " : "",
                     (int)(slash - l.path[i]), l.path[i], IPC_SOCKET_SUBMIT);
        /* each path (the separator aside) must fit a Unix socket address, as the list must buf */
        if (n < 0 || (size_t)n >= bufsz - used || (size_t)n - (used ? 1 : 0) >= SC_ADDR_LEN)
            return -1;
        used += (size_t)n;
    }
    return used ? 0 : config_socket_path(cfg, IPC_SOCKET_SUBMIT, buf, bufsz);
}

int sc_sync_tls(const struct sg_config *cfg, const char *where, char *why, size_t whysz)
{
    if (!strstr(where, "tcp:"))
        return 0;
    if (!cfg->global.ipc_tls_cert[0]) {
        snprintf(why, whysz,
                 "%s: a tcp: store address needs global.ipc_tls_cert, ipc_tls_key and "
                 "ipc_tls_ca in %s",
                 where, cfg->source);
        return -1;
    }
    return ipc_tls_setup(cfg, why, whysz);
}

int sc_sync_connect(struct ipc_client *c, const char *path, const char *program, const char *role,
                    const char *caps)
{
    struct sc_addr_list l;
    char why[256], all[sizeof(c->error)] = "";

    if (!strpbrk(path, " \t,") && strncmp(path, "unix:", 5) != 0)
        return ipc_client_connect(c, path, program, role, caps);
    if (sc_addr_parse(path, &l, why, sizeof(why)) < 0) {
        memset(c, 0, sizeof(*c));
        c->fd = -1;
        snprintf(c->error, sizeof(c->error), "store addresses: %s", why);
        return -1;
    }
    /* In the list's order, except that a site that names the master sends us there next. */
    for (size_t i = 0, tried = 0, n = 0; n < l.n; n++) {
        size_t used = strlen(all);
        int master;

        tried |= (size_t)1 << i;
        if (ipc_client_connect(c, l.path[i], program, role, caps) == 0)
            return 0;
        snprintf(all + used, sizeof(all) - used, "%s%.100s: %.300s", used ? "; " : "", l.path[i],
                 c->error);
        master = sc_addr_find(&l, c->follow);
        if (master >= 0 && !(tried & ((size_t)1 << master)))
            i = (size_t)master;
        else
            while (n + 1 < l.n && (tried & ((size_t)1 << i)))
                i = (i + 1) % l.n;
    }
    memcpy(c->error, all, sizeof(c->error));
    return -1;
}

int sc_frames_chunks(struct sg_buf *b, const void *data, size_t len)
{
    const uint8_t *p = data;

    for (size_t off = 0; off < len; off += SC_CHUNK_FRAME) {
        struct ipc_chunk ch = {.data = p + off,
                               .len = len - off < SC_CHUNK_FRAME ? len - off : SC_CHUNK_FRAME};

        if (ipc_encode_submit_chunk(b, 0, &ch) < 0)
            return -1;
    }
    return 0;
}

static int answer_bad(struct ipc_error *e, const char *why)
{
    e->code = IPC_ERR_PROTO;
    snprintf(e->text, sizeof(e->text), "%s", why ? why : "unexpected answer");
    return -2;
}

int sc_frames_submit_answer(struct ipc_reader *rd, char *started, struct ipc_submitted *done,
                            struct ipc_error *e)
{
    struct ipc_qid_msg q;

    switch (rd->type) {
    case IPC_SUBMIT_STARTED:
        if (ipc_decode_qid_msg(rd, &q) < 0)
            return answer_bad(e, rd->error);
        if (started)
            memcpy(started, q.qid, sizeof(q.qid));
        return 0;
    case IPC_SUBMITTED:
        return ipc_decode_submitted(rd, done) < 0 ? answer_bad(e, rd->error) : 1;
    case IPC_ERROR:
        return ipc_decode_error(rd, e) < 0 ? answer_bad(e, rd->error) : -1;
    default:
        return answer_bad(e, NULL);
    }
}

/* ---- blocking ------------------------------------------------------------------------- */

int sc_sync_begin(struct sc_sync_submit *s, struct ipc_client *c, const struct ipc_submit_begin *b,
                  const struct ipc_submit_rcpt *rcpts, size_t nrcpt)
{
    memset(s, 0, sizeof(*s));
    s->c = c;
    ipc_encode_submit_begin(&c->out, ipc_client_request_id(c), b);
    for (size_t i = 0; i < nrcpt; i++)
        ipc_encode_submit_rcpt(&c->out, 0, &rcpts[i]);
    if (c->out.failed) {
        snprintf(c->error, sizeof(c->error), "cannot build the submission (out of memory)");
        return -1;
    }
    return 0;
}

int sc_sync_chunk(struct sc_sync_submit *s, const void *data, size_t len)
{
    struct ipc_client *c = s->c;

    if (sc_frames_chunks(&c->out, data, len) < 0)
        return ipc_client_send(c); /* reports the failed buffer */
    s->size += len;
    return c->out.len >= SYNC_SEND_AT ? ipc_client_send(c) : 0;
}

int sc_sync_commit(struct sc_sync_submit *s, struct ipc_submitted *done, int timeout_ms)
{
    struct ipc_client *c = s->c;
    struct ipc_submit_commit cm = {.size = s->size};
    struct ipc_reader r;
    struct ipc_error e;
    int got;

    ipc_encode_submit_commit(&c->out, ipc_client_request_id(c), &cm);
    if (ipc_client_send(c) < 0)
        return -1;
    do {
        if (ipc_client_recv(c, &r, timeout_ms) < 0)
            return -1;
        got = sc_frames_submit_answer(&r, NULL, done, &e);
        s->started |= got == 0;
    } while (got == 0);
    if (got == 1)
        return 0;
    if (got == -1)
        snprintf(c->error, sizeof(c->error), "%s (%s)", e.text, ipc_error_name(e.code));
    else
        snprintf(c->error, sizeof(c->error), "%s", e.text);
    return e.code ? (int)e.code : IPC_ERR_PROTO;
}
