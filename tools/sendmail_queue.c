/* sendmail_queue.c - mailq (-bp): the queue listed as Postfix's mailq does, and -q: everything deferred due now; both over store.sock like spoolctl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "sendmail.h"
#include "store_client.h"

#define RECV_TIMEOUT_MS 120000

/* One message of the listing, printed once its recipients are known. */
struct queued {
    struct ipc_envelope env;
    struct ipc_rcpt *rcpts;
    size_t nrcpt;
    int have;
};

static int connect_admin(const struct sm_ctx *x, struct ipc_client *c, const char *caps)
{
    char path[SC_WHERE_MAX], why[1024];

    if (!x->socket_given && sc_socket_path(x->cfg, path, sizeof(path)) < 0)
        return fprintf(stderr, "spoolgate-sendmail: socket path too long\n"), -1;
    if (sc_sync_tls(x->cfg, x->socket_given ? x->socket : path, why, sizeof(why)) < 0)
        return fprintf(stderr, "spoolgate-sendmail: %s\n", why), -1;
    if (sc_sync_connect(c, x->socket_given ? x->socket : path, SM_PROGRAM, "mailq", caps) < 0) {
        fprintf(stderr, "spoolgate-sendmail: cannot reach the mail store: %s\n", c->error);
        return -1;
    }
    return 0;
}

static int is_pending(uint32_t state)
{
    return state != RCPT_DELIVERED && state != RCPT_FAILED;
}

/* "QID[*!]  SIZE  Day Mon dd hh:mm:ss  sender" then each pending recipient. */
static void print_queued(struct queued *q, unsigned long long *count, unsigned long long *bytes)
{
    char when[32], mark = ' ';
    time_t t = (time_t)(q->env.arrival_us / 1000000u);
    struct tm tm;
    size_t pending = 0;

    for (size_t i = 0; i < q->nrcpt; i++) {
        pending += is_pending(q->rcpts[i].state);
        mark = q->rcpts[i].state == RCPT_ACTIVE ? '*' : q->rcpts[i].state == RCPT_HELD ? '!' : mark;
    }
    if (q->have && pending > 0) {
        localtime_r(&t, &tm);
        strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm);
        printf("%-15s%c %8llu %s  %s\n", q->env.qid, mark, (unsigned long long)q->env.size, when,
               q->env.sender[0] ? q->env.sender : "MAILER-DAEMON");
        for (size_t i = 0; i < q->nrcpt; i++) {
            if (!is_pending(q->rcpts[i].state))
                continue;
            if (q->rcpts[i].last_reply[0])
                printf("%48s(%s)\n", "", q->rcpts[i].last_reply);
            printf("%48s%s\n", "", q->rcpts[i].addr);
        }
        printf("\n");
        (*count)++;
        *bytes += q->env.size;
    }
    q->nrcpt = 0;
    q->have = 0;
}

static int add_rcpt(struct queued *q, const struct ipc_rcpt *r)
{
    if (q->nrcpt % 16 == 0) {
        void *n = realloc(q->rcpts, (q->nrcpt + 16) * sizeof(*q->rcpts));
        if (!n)
            return -1;
        q->rcpts = n;
    }
    q->rcpts[q->nrcpt++] = *r;
    return 0;
}

/* The LIST stream read and printed: 0, or -1. */
static int list_stream(struct ipc_client *c, unsigned long long *count, unsigned long long *bytes)
{
    struct queued q = {0};
    struct ipc_reader r;
    struct ipc_rcpt rc;
    int rcode = 0;

    for (;;) {
        if (ipc_client_recv(c, &r, RECV_TIMEOUT_MS) < 0 || ipc_client_take_error(c, &r)) {
            fprintf(stderr, "spoolgate-sendmail: mail store: %s\n", c->error);
            rcode = -1;
            break;
        }
        if (r.type == IPC_END)
            break;
        if (r.type == IPC_ENVELOPE) {
            print_queued(&q, count, bytes);
            q.have = ipc_decode_envelope(&r, &q.env) == 0;
        } else if (r.type == IPC_RCPT && ipc_decode_rcpt(&r, &rc) == 0 && q.have) {
            if (add_rcpt(&q, &rc) < 0)
                rcode = -1;
        }
    }
    print_queued(&q, count, bytes);
    free(q.rcpts);
    return rcode;
}

int sm_mailq(const struct sm_ctx *x)
{
    struct ipc_client c;
    struct ipc_list_req q = {0};
    unsigned long long count = 0, bytes = 0;
    int rc;

    if (connect_admin(x, &c, "list") < 0)
        return EX_TEMPFAIL;
    if (ipc_encode_list_req(&c.out, ipc_client_request_id(&c), &q) < 0 || ipc_client_send(&c) < 0) {
        fprintf(stderr, "spoolgate-sendmail: mail store: %s\n", c.error);
        ipc_client_close(&c);
        return EX_TEMPFAIL;
    }
    printf("-Queue ID-      --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
    rc = list_stream(&c, &count, &bytes);
    ipc_client_close(&c);
    if (rc < 0)
        return EX_TEMPFAIL;
    if (count == 0)
        printf("Mail queue is empty\n");
    else
        printf("-- %llu Kbytes in %llu Request%s.\n", (bytes + 1023) / 1024, count,
               count == 1 ? "" : "s");
    return EX_OK;
}

int sm_flush(const struct sm_ctx *x)
{
    struct ipc_client c;
    struct ipc_admin_req m = {.op = IPC_OP_FLUSH, .flags = IPC_ADMIN_ALL}; /* postqueue -f */
    struct ipc_reader r;
    struct ipc_ok ok;

    if (connect_admin(x, &c, "admin") < 0)
        return EX_TEMPFAIL;
    if (ipc_encode_admin_req(&c.out, ipc_client_request_id(&c), &m) < 0 ||
        ipc_client_send(&c) < 0 || ipc_client_recv(&c, &r, RECV_TIMEOUT_MS) < 0 ||
        ipc_client_take_error(&c, &r) || ipc_decode_ok(&r, &ok) < 0) {
        fprintf(stderr, "spoolgate-sendmail: flush: %s\n", c.error[0] ? c.error : "bad reply");
        ipc_client_close(&c);
        return EX_TEMPFAIL;
    }
    ipc_client_close(&c);
    fprintf(stderr, "spoolgate-sendmail: %llu recipients to be tried now\n",
            (unsigned long long)ok.count);
    return EX_OK;
}
