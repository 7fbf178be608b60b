/* spoolctl_admin.c - spoolctl's changing commands: requeue, hold, release, delete, flush of ids or ALL (filtered); pause and resume. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoolctl.h"

static const char *const op_names[] = {"?", "requeue", "hold", "release", "delete", "flush"};

struct admin_arg {
    uint32_t op;
    const struct ipc_filter *f;
};

/* One ADMIN request and its OK; an ERROR is printed and its exit code returned. */
static int admin_send(struct ipc_client *c, const struct ipc_admin_req *q, const char *what)
{
    struct ipc_reader r;
    struct ipc_ok ok;
    char label[64];
    int ret;

    snprintf(label, sizeof(label), "%s %s", op_names[q->op], what);
    if (ipc_encode_admin_req(&c->out, ipc_client_request_id(c), q) < 0)
        spoolctl_usage_error("%s: request does not fit a frame", label);
    spoolctl_send(c);
    if ((ret = spoolctl_recv_soft(c, &r, label)) != 0)
        return ret;
    if (ipc_decode_ok(&r, &ok) < 0) {
        fprintf(stderr, "spoolctl: %s: bad reply: %s\n", label, r.error);
        return SPOOLCTL_EX_FAIL;
    }
    printf("%s: %llu recipients changed\n", label, (unsigned long long)ok.count);
    return 0;
}

static int admin_one(struct ipc_client *c, const char *qid, void *arg)
{
    const struct admin_arg *a = arg;
    struct ipc_admin_req q = {.op = a->op, .f = *a->f};

    snprintf(q.qid, sizeof(q.qid), "%s", qid);
    return admin_send(c, &q, qid);
}

int spoolctl_cmd_admin(struct ipc_client *c, uint32_t op, int argc, char **argv)
{
    struct spoolctl_opts o;
    struct admin_arg a = {.op = op};
    int all;

    spoolctl_opts_parse(argc, argv, "f", &o);
    a.f = &o.lf.f;
    /* flush with nothing named is every message (postqueue -f); anything else names them */
    all = (o.nargs == 1 && strcmp(o.args[0], "ALL") == 0) || (op == IPC_OP_FLUSH && !o.nargs);
    if (all) {
        struct ipc_admin_req q = {.op = op, .flags = IPC_ADMIN_ALL, .f = o.lf.f};

        spoolctl_connect(c);
        return admin_send(c, &q, "ALL");
    }
    if (o.nargs == 0)
        spoolctl_usage_error("%s: QID..., - (ids on stdin) or ALL expected", argv[0]);
    return spoolctl_each_id(c, o.nargs, o.args, admin_one, &a);
}

/* pause DOMAIN|ALL, resume DOMAIN|ALL */
int spoolctl_cmd_pause(struct ipc_client *c, uint16_t type, int argc, char **argv)
{
    const char *verb = type == IPC_PAUSE ? "pause" : "resume";
    struct spoolctl_opts o;
    struct ipc_pause p = {0};
    struct ipc_reader r;
    struct ipc_ok ok;
    char label[IPC_ADDR_MAX + 16];
    int ret;

    spoolctl_opts_parse(argc, argv, "", &o);
    if (o.nargs != 1)
        spoolctl_usage_error("%s: one recipient domain, or ALL, expected", verb);
    if (strcmp(o.args[0], "ALL") == 0)
        p.flags = IPC_ADMIN_ALL;
    else if (strlen(o.args[0]) >= sizeof(p.domain) || !o.args[0][0] ||
             strpbrk(o.args[0], " \t\r\n@<>"))
        spoolctl_usage_error("%s: bad domain \"%s\"", verb, o.args[0]);
    else
        snprintf(p.domain, sizeof(p.domain), "%s", o.args[0]);
    snprintf(label, sizeof(label), "%s %s", verb, o.args[0]);
    spoolctl_connect(c);
    if (ipc_encode_pause(&c->out, type, ipc_client_request_id(c), &p) < 0)
        spoolctl_usage_error("%s: request does not fit a frame", label);
    spoolctl_send(c);
    if ((ret = spoolctl_recv_soft(c, &r, label)) != 0)
        return ret;
    if (ipc_decode_ok(&r, &ok) < 0) {
        fprintf(stderr, "spoolctl: %s: bad reply: %s\n", label, r.error);
        return SPOOLCTL_EX_FAIL;
    }
    if (type == IPC_PAUSE)
        printf("%s: deliveries paused\n", label);
    else
        printf("%s: deliveries resumed, %llu recipients due now\n", label,
               (unsigned long long)ok.count);
    return 0;
}
