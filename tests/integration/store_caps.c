/* store_caps.c - every request of the store's (or with -g the gateway's) table is refused to a client that did not ask for its capability, and served to one that did (TAP). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "ipc_client.h"

#define TIMEOUT_MS 5000

/* The store's table as the protocol specifies it (store/store_conn.c must agree: store-caps.sh
 * compares the two with -l). */
static const struct row {
    uint16_t type;
    const char *cap;
} rows[] = {
    {IPC_SUBMIT_BEGIN, "submit"},
    {IPC_SUBMIT_RCPT, "submit"},
    {IPC_SUBMIT_CHUNK, "submit"},
    {IPC_SUBMIT_COMMIT, "submit"},
    {IPC_SUBMIT_ABORT, "submit"},
    {IPC_READ_ENVELOPE, "read"},
    {IPC_READ_BODY, "read"},
    {IPC_LIST, "list"},
    {IPC_LIST_FROM, "list"},
    {IPC_UPDATE_RCPT, "update"},
    {IPC_UPDATE_BATCH, "update"},
    {IPC_DUE, "due"},
    {IPC_REQUEUE, "admin"},
    {IPC_HOLD, "admin"},
    {IPC_RELEASE, "admin"},
    {IPC_DELETE, "admin"},
    {IPC_STATS, "admin"},
    {IPC_SUBSCRIBE, "events"},
    {IPC_SUBSCRIBE_MESSAGES, "events"},
    {IPC_ADMIN, "admin"},
    {IPC_LIST_FILTER, "list"},
    {IPC_PAUSE, "admin"},
    {IPC_RESUME, "admin"},
    {IPC_PAUSE_LIST, "read"},
    {IPC_CLIENTS, "admin"},
    {IPC_METRICS, "admin"},
    {IPC_SHAPE, "list"},
    {IPC_REPORT, "update"},
    {IPC_REPL_STATUS, "admin"},
    {IPC_REPL_REMOVE, "admin"},
};

/* The gateway's table. */
static const struct row gw_rows[] = {
    {IPC_DIR_LOOKUP, IPC_CAP_DIRECTORY},
    {IPC_GW_DELIVER, IPC_CAP_DELIVER},
    {IPC_GW_RECORDED, IPC_CAP_DELIVER},
};

static const char *opt_socket;
static int opt_gateway;

/* Every capability the server offers but cap. */
static void all_but(const char *cap, char *out, size_t outsz)
{
    char store[] = IPC_CAPS_STORE, gateway[] = IPC_CAP_DIRECTORY "," IPC_CAP_DELIVER;
    char *list = opt_gateway ? gateway : store, *save = NULL;
    size_t n = 0;

    out[0] = '\0';
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strcmp(t, cap) != 0)
            n += (size_t)snprintf(out + n, outsz - n, "%s%s", n ? "," : "", t);
}

/* One frame of the row's type with valid fields (a queue id no message has). */
static void encode(struct ipc_client *c, uint16_t type)
{
    struct sg_buf *b = &c->out;
    uint32_t id = ipc_client_request_id(c);
    struct ipc_qid_msg q = {.qid = "0000000000001"};

    switch (type) {
    case IPC_SUBMIT_BEGIN: {
        struct ipc_submit_begin m = {.sender = "caps@test.invalid"};
        ipc_encode_submit_begin(b, id, &m);
        break;
    }
    case IPC_SUBMIT_RCPT: {
        struct ipc_submit_rcpt m = {.addr = "rcpt@test.invalid"};
        ipc_encode_submit_rcpt(b, id, &m);
        break;
    }
    case IPC_SUBMIT_CHUNK: {
        struct ipc_chunk m = {(const uint8_t *)"Subject: caps\r\n\r\nbody\r\n", 24};
        ipc_encode_submit_chunk(b, id, &m);
        break;
    }
    case IPC_SUBMIT_COMMIT: {
        struct ipc_submit_commit m = {24};
        ipc_encode_submit_commit(b, id, &m);
        break;
    }
    case IPC_UPDATE_RCPT: {
        struct ipc_rcpt_update m = {.qid = "0000000000001", .state = RCPT_DEFERRED};
        ipc_encode_rcpt_update(b, id, &m);
        break;
    }
    case IPC_LIST: {
        struct ipc_list_req m = {.limit = 1};
        ipc_encode_list_req(b, id, &m);
        break;
    }
    case IPC_LIST_FROM: {
        struct ipc_list_from m = {.after_qid = "0000000000001", .limit = 1};
        ipc_encode_list_from(b, id, &m);
        break;
    }
    case IPC_UPDATE_BATCH: {
        struct ipc_rcpt_update u = {.qid = "0000000000001", .state = RCPT_DEFERRED};
        struct sg_buf inner;
        struct ipc_update_batch m = {.count = 1};

        sg_buf_init(&inner);
        ipc_encode_rcpt_update(&inner, 0, &u);
        m.frames = inner.data;
        m.len = inner.len;
        ipc_encode_update_batch(b, id, &m);
        sg_buf_free(&inner);
        break;
    }
    case IPC_DUE: {
        struct ipc_due_req m = {.limit = 1};
        ipc_encode_due_req(b, id, &m);
        break;
    }
    case IPC_DIR_LOOKUP: {
        struct ipc_dir_lookup m = {.addr = "jsmith@po.test"};
        ipc_encode_dir_lookup(b, id, &m);
        break;
    }
    case IPC_GW_DELIVER: {
        struct ipc_gw_deliver m = {.qid = "0000000000001", .indexes = "0"};
        ipc_encode_gw_deliver(b, id, &m);
        break;
    }
    case IPC_GW_RECORDED: {
        struct ipc_gw_deliver m = {.qid = "0000000000001", .indexes = "0"};
        ipc_encode_gw_recorded(b, id, &m);
        break;
    }
    case IPC_ADMIN: {
        struct ipc_admin_req m = {.op = IPC_OP_HOLD, .qid = "0000000000001"};
        ipc_encode_admin_req(b, id, &m);
        break;
    }
    case IPC_LIST_FILTER:
    case IPC_SHAPE: {
        struct ipc_list_filter m = {.limit = 1};
        ipc_encode_list_filter_as(b, type, id, &m);
        break;
    }
    case IPC_PAUSE:
    case IPC_RESUME: {
        struct ipc_pause m = {.domain = "caps.invalid"};
        ipc_encode_pause(b, type, id, &m);
        break;
    }
    case IPC_REPORT: {
        struct ipc_metric_item m = {.name = "caps_test_total"};
        ipc_encode_metric_as(b, type, id, &m);
        break;
    }
    case IPC_REPL_REMOVE: {
        struct ipc_repl_remove m = {.site = "caps"};
        ipc_encode_repl_remove(b, id, &m);
        break;
    }
    case IPC_SUBMIT_ABORT:
    case IPC_STATS:
    case IPC_SUBSCRIBE:
    case IPC_SUBSCRIBE_MESSAGES:
    case IPC_PAUSE_LIST:
    case IPC_CLIENTS:
    case IPC_METRICS:
    case IPC_REPL_STATUS:
        ipc_encode_empty(b, type, id);
        break;
    default:
        ipc_encode_qid_msg(b, type, id, &q);
        break;
    }
}

/* Send the row's frame, after what it needs before it (a submission begun); 0 when the store answered
 * without refusing it for its capability, 1 when it was refused for that, -1 on anything else. */
static int try_row(const struct row *r, const char *caps, char *seen, size_t seensz)
{
    struct ipc_client c;
    struct ipc_reader rd;
    int rc = -1;

    seen[0] = '\0';
    if (ipc_client_connect(&c, opt_socket, "store-caps", "test", caps) < 0) {
        snprintf(seen, seensz, "connect: %s", c.error);
        return -1;
    }
    if (r->type == IPC_SUBMIT_RCPT || r->type == IPC_SUBMIT_CHUNK || r->type == IPC_SUBMIT_COMMIT) {
        if (strcmp(r->cap, "submit") == 0 && strstr(caps, "submit")) {
            encode(&c, IPC_SUBMIT_BEGIN); /* the row's frame then comes where a client sends it */
            if (ipc_client_send(&c) < 0 || ipc_client_recv(&c, &rd, TIMEOUT_MS) < 0 ||
                rd.type != IPC_SUBMIT_STARTED)
                goto out;
            if (r->type != IPC_SUBMIT_RCPT) {
                encode(&c, IPC_SUBMIT_RCPT);
                ipc_client_send(&c);
            }
            if (r->type == IPC_SUBMIT_COMMIT) {
                encode(&c, IPC_SUBMIT_CHUNK);
                ipc_client_send(&c);
            }
        }
    }
    encode(&c, r->type);
    if (ipc_client_send(&c) < 0)
        goto out;
    if (r->type == IPC_SUBMIT_RCPT || r->type == IPC_SUBMIT_CHUNK) {
        /* No answer when served: a commit after it must be answered SUBMITTED. */
        if (strstr(caps, "submit")) {
            if (r->type == IPC_SUBMIT_RCPT) {
                encode(&c, IPC_SUBMIT_CHUNK);
                ipc_client_send(&c);
            }
            encode(&c, IPC_SUBMIT_COMMIT);
            ipc_client_send(&c);
        }
    }
    if (r->type == IPC_GW_RECORDED && strstr(caps, IPC_CAP_DELIVER)) {
        encode(&c, IPC_GW_DELIVER); /* no answer when served: the delivery after it is answered */
        ipc_client_send(&c);
    }
    if (ipc_client_recv(&c, &rd, TIMEOUT_MS) < 0) {
        snprintf(seen, seensz, "no answer: %s", c.error);
        goto out;
    }
    if (rd.type == IPC_ERROR) {
        uint32_t code = ipc_client_take_error(&c, &rd);

        snprintf(seen, seensz, "error %s: %s", ipc_error_name(code), c.error);
        rc = code == IPC_ERR_CAPS ? 1 : 0;
    } else {
        snprintf(seen, seensz, "%s", ipc_type_name(rd.type));
        rc = 0;
    }
out:
    ipc_client_close(&c);
    return rc;
}

int main(int argc, char **argv)
{
    size_t n = sizeof(rows) / sizeof(rows[0]);
    int failed = 0, t = 0;

    const struct row *table = rows;

    opt_gateway =
        (argc == 4 && strcmp(argv[3], "-g") == 0) || (argc == 3 && strcmp(argv[2], "-g") == 0);
    if (opt_gateway) {
        table = gw_rows;
        n = sizeof(gw_rows) / sizeof(gw_rows[0]);
    }
    if (argc >= 2 && strcmp(argv[1], "-l") == 0) {
        /* The rows this driver tests, one "IPC_TYPE cap" a line. */
        for (size_t i = 0; i < n; i++)
            printf("IPC_%s %s\n", ipc_type_name(table[i].type), table[i].cap);
        return 0;
    }
    if ((argc != 3 && argc != 4) || (argc == 4 && !opt_gateway) || strcmp(argv[1], "-s") != 0) {
        fprintf(stderr, "usage: store-caps -s SOCKET [-g] | store-caps -l [-g]\n");
        return 2;
    }
    opt_socket = argv[2];
    printf("1..%zu\n", 2 * n);
    for (size_t i = 0; i < n; i++) {
        char others[IPC_CAPS_MAX + 1], seen[IPC_REPLY_MAX + 128];
        const struct row *r = &table[i];
        int rc = try_row(r, (all_but(r->cap, others, sizeof(others)), others), seen, sizeof(seen));

        failed += rc != 1;
        printf("%s %d - %s without '%s' (the client asked for %s): refused (%s)\n",
               rc == 1 ? "ok" : "not ok", ++t, ipc_type_name(r->type), r->cap, others, seen);
        rc = try_row(r, r->cap, seen, sizeof(seen));
        failed += rc != 0;
        printf("%s %d - %s with only '%s': served (%s)\n", rc == 0 ? "ok" : "not ok", ++t,
               ipc_type_name(r->type), r->cap, seen);
    }
    return failed ? 1 : 0;
}
