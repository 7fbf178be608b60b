/* spoolctl_repl.c - spoolctl repl: each site of a replicated store, its role, its connections to the others, how far its log is behind the master's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoolctl.h"
#include "store_addr.h"

#define REPL_ROWS_MAX 32

struct repl_answer {
    char path[SC_ADDR_LEN];
    char error[IPC_REPLY_MAX + 64]; /* "" when it answered */
    uint32_t code;                  /* the store's error code, 0 for none */
    struct ipc_repl_site rows[REPL_ROWS_MAX];
    size_t n;
};

/* One site's answer: REPL_SITE*, END; 0, or -1 with a->error. */
static int repl_ask(const char *path, struct repl_answer *a)
{
    struct ipc_client c;
    struct ipc_reader r;
    struct ipc_error e;
    int got;

    snprintf(a->path, sizeof(a->path), "%s", path);
    if (ipc_client_connect(&c, path, "spoolctl", IPC_ROLE_REPL_CLIENT, IPC_CAP_ADMIN) < 0) {
        snprintf(a->error, sizeof(a->error), "%.300s", c.error[0] ? c.error : "cannot connect");
        return -1;
    }
    if (ipc_encode_empty(&c.out, IPC_REPL_STATUS, ipc_client_request_id(&c)) < 0 ||
        ipc_client_send(&c) < 0) {
        snprintf(a->error, sizeof(a->error), "cannot send the request: %.300s",
                 c.error[0] ? c.error : "out of memory");
        ipc_client_close(&c);
        return -1;
    }
    while ((got = ipc_client_recv(&c, &r, SPOOLCTL_RECV_TIMEOUT_MS)) == 0 &&
           r.type == IPC_REPL_SITE && a->n < REPL_ROWS_MAX &&
           ipc_decode_repl_site(&r, &a->rows[a->n]) == 0)
        a->n++;
    if (got == 0 && r.type == IPC_ERROR && ipc_decode_error(&r, &e) == 0) {
        snprintf(a->error, sizeof(a->error), "%s", e.text);
        a->code = e.code;
    } else if (got < 0 || r.type != IPC_END || a->n == 0)
        snprintf(a->error, sizeof(a->error), "bad answer: %.300s",
                 got < 0 ? c.error : (r.error ? r.error : ipc_type_name(r.type)));
    ipc_client_close(&c);
    return a->error[0] ? -1 : 0;
}

static void repl_lag(const struct ipc_repl_site *me, const struct ipc_repl_site *master)
{
    if (!master || me == master)
        return;
    if (me->lsn_file == master->lsn_file && me->lsn_offset <= master->lsn_offset)
        printf(", %u bytes of log behind the master", master->lsn_offset - me->lsn_offset);
    else if (me->lsn_file < master->lsn_file)
        printf(", %u log files behind the master", master->lsn_file - me->lsn_file);
}

static void repl_print(const struct repl_answer *a, const struct ipc_repl_site *master)
{
    const struct ipc_repl_site *me = &a->rows[0];

    if (a->error[0]) {
        /* A connection's own errors name the path already. */
        printf(strncmp(a->error, a->path, strlen(a->path)) == 0 ? "%.0s%s\n" : "%s: %s\n", a->path,
               a->error);
        return;
    }
    printf("site %s (%s): %s, log at %u/%u", me->name, me->addr, me->role, me->lsn_file,
           me->lsn_offset);
    repl_lag(me, master);
    printf("\n");
    for (size_t i = 1; i < a->n; i++)
        printf("  %-12s %-24s %s%s\n", a->rows[i].name[0] ? a->rows[i].name : "-", a->rows[i].addr,
               a->rows[i].flags & IPC_REPL_CONNECTED ? "connected" : "not connected",
               a->rows[i].flags & IPC_REPL_MASTER ? ", master" : "");
}

int spoolctl_cmd_repl(int argc, char **argv)
{
    struct sc_addr_list l;
    struct repl_answer *as;
    const struct ipc_repl_site *master = NULL;
    int refused = 0; /* a store answered that can never answer this (not replicated) */
    char why[256];

    if (argc != 1)
        spoolctl_usage_error("repl takes no arguments, or remove SITE");
    if (sc_addr_parse(spoolctl_where(), &l, why, sizeof(why)) < 0)
        spoolctl_usage_error("store addresses: %s", why);
    if (!(as = calloc(l.n, sizeof(*as))))
        exit(SPOOLCTL_EX_FAIL);
    /* The master is the site that serves: Berkeley DB's master still preparing does not. */
    for (size_t i = 0; i < l.n; i++)
        if (repl_ask(l.path[i], &as[i]) == 0 && strcmp(as[i].rows[0].role, "master") == 0)
            master = &as[i].rows[0];
        else if (as[i].code == IPC_ERR_PERM)
            refused = 1;
    for (size_t i = 0; i < l.n; i++)
        repl_print(&as[i], master);
    if (!master)
        printf("no site answered as master\n");
    free(as);
    return master ? SPOOLCTL_EX_OK : refused ? SPOOLCTL_EX_FAIL : SPOOLCTL_EX_TEMPFAIL;
}
