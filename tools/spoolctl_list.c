/* spoolctl_list.c - spoolctl's listings of messages: list (filtered, streamed), show, cat, due; as text or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoolctl.h"

/* How a stream of ENVELOPE and RCPT frames is printed. */
struct printer {
    int json;
    uint64_t messages; /* printed so far */
    int in_rcpts;      /* JSON: a message's recipient list is open */
};

static void text_envelope(const struct ipc_envelope *e)
{
    char t[32];

    printf("%s  gen=%llu  %s  size=%llu  from=<%s>%s%s\n", e->qid,
           (unsigned long long)e->generation, spoolctl_iso_time(e->arrival_us, t, sizeof(t)),
           (unsigned long long)e->size, e->sender, e->origin[0] ? "  origin=" : "", e->origin);
}

static void text_rcpt(const struct ipc_rcpt *r)
{
    char t[32];

    printf("    -> <%s>  %s  attempts=%u  next=%s  route=%s  reply=%s\n", r->addr,
           rcpt_state_name(r->state), r->attempts,
           spoolctl_iso_time(r->next_attempt_us, t, sizeof(t)), r->route[0] ? r->route : "-",
           r->last_reply[0] ? r->last_reply : "-");
}

static void json_close_message(struct printer *p)
{
    if (p->in_rcpts)
        fputs("]}", stdout);
    p->in_rcpts = 0;
}

static void json_envelope(struct printer *p, const struct ipc_envelope *e)
{
    char t[32];
    int first = 1;

    json_close_message(p);
    fputs(p->messages ? ",\n{" : "\n{", stdout);
    spoolctl_json_kv_str(stdout, &first, "qid", e->qid);
    spoolctl_json_kv_u64(stdout, &first, "generation", e->generation);
    spoolctl_json_kv_str(stdout, &first, "arrival", spoolctl_iso_time(e->arrival_us, t, sizeof(t)));
    spoolctl_json_kv_u64(stdout, &first, "arrival_us", e->arrival_us);
    spoolctl_json_kv_u64(stdout, &first, "size", e->size);
    spoolctl_json_kv_str(stdout, &first, "sender", e->sender);
    spoolctl_json_kv_str(stdout, &first, "envid", e->envid);
    spoolctl_json_kv_str(stdout, &first, "origin", e->origin);
    spoolctl_json_kv_u64(stdout, &first, "flags", e->flags);
    spoolctl_json_key(stdout, &first, "recipients");
    fputc('[', stdout);
    p->in_rcpts = 1;
}

static void json_rcpt(const struct ipc_rcpt *r, int first_rcpt)
{
    int first = 1;

    fputs(first_rcpt ? "{" : ",{", stdout);
    spoolctl_json_kv_u64(stdout, &first, "index", r->index);
    spoolctl_json_kv_str(stdout, &first, "addr", r->addr);
    spoolctl_json_kv_str(stdout, &first, "orcpt", r->orcpt);
    spoolctl_json_kv_str(stdout, &first, "state", rcpt_state_name(r->state));
    spoolctl_json_kv_u64(stdout, &first, "attempts", r->attempts);
    spoolctl_json_kv_u64(stdout, &first, "next_attempt_us", r->next_attempt_us);
    spoolctl_json_kv_u64(stdout, &first, "last_attempt_us", r->last_attempt_us);
    spoolctl_json_kv_str(stdout, &first, "route", r->route);
    spoolctl_json_kv_str(stdout, &first, "reply", r->last_reply);
    fputc('}', stdout);
}

/* Print ENVELOPE/RCPT frames until END (its count returned), or an ERROR (*ret). */
static uint64_t print_stream(struct ipc_client *c, struct printer *p, const char *what, int *ret)
{
    struct ipc_reader r;
    int first_rcpt = 0;

    for (;;) {
        struct ipc_envelope e;
        struct ipc_rcpt rc;
        struct ipc_end end;

        if ((*ret = spoolctl_recv_soft(c, &r, what)) != 0)
            return 0;
        if (r.type == IPC_END && ipc_decode_end(&r, &end) == 0)
            return end.count;
        if (r.type == IPC_ENVELOPE && ipc_decode_envelope(&r, &e) == 0) {
            if (p->json)
                json_envelope(p, &e);
            else
                text_envelope(&e);
            p->messages++;
            first_rcpt = 1;
        } else if (r.type == IPC_RCPT && ipc_decode_rcpt(&r, &rc) == 0) {
            if (p->json)
                json_rcpt(&rc, first_rcpt);
            else
                text_rcpt(&rc);
            first_rcpt = 0;
        } else {
            fprintf(stderr, "spoolctl: unexpected reply %s: %s\n", ipc_type_name(r.type),
                    r.error ? r.error : "");
            exit(SPOOLCTL_EX_FAIL);
        }
    }
}

int spoolctl_cmd_list(struct ipc_client *c, int argc, char **argv)
{
    struct spoolctl_opts o;
    struct printer p = {0};
    uint64_t n;
    int ret;

    spoolctl_opts_parse(argc, argv, "fmlj", &o);
    if (o.nargs)
        spoolctl_usage_error("list: unexpected argument \"%s\"", o.args[0]);
    p.json = o.json;
    spoolctl_connect(c);
    if (ipc_encode_list_filter(&c->out, ipc_client_request_id(c), &o.lf) < 0)
        spoolctl_usage_error("list: filter does not fit a request");
    spoolctl_send(c);
    if (p.json)
        fputs("{\"messages\":[", stdout);
    n = print_stream(c, &p, "list", &ret);
    if (ret)
        exit(ret); /* a JSON document cut short is not valid: nothing pretends it is */
    if (p.json) {
        json_close_message(&p);
        printf("\n],\"count\":%llu}\n", (unsigned long long)n);
    } else {
        printf("%llu messages\n", (unsigned long long)n);
    }
    return 0;
}

static int show_one(struct ipc_client *c, const char *qid, void *arg)
{
    struct printer *p = arg;
    struct ipc_qid_msg m;
    char what[64];
    int ret;

    snprintf(m.qid, sizeof(m.qid), "%s", qid);
    snprintf(what, sizeof(what), "show %s", qid);
    if (ipc_encode_qid_msg(&c->out, IPC_READ_ENVELOPE, ipc_client_request_id(c), &m) < 0)
        spoolctl_usage_error("bad queue id \"%s\"", qid);
    spoolctl_send(c);
    print_stream(c, p, what, &ret);
    return ret;
}

int spoolctl_cmd_show(struct ipc_client *c, int argc, char **argv)
{
    struct spoolctl_opts o;
    struct printer p = {0};
    int ret;

    spoolctl_opts_parse(argc, argv, "j", &o);
    p.json = o.json;
    if (p.json)
        fputs("{\"messages\":[", stdout);
    ret = spoolctl_each_id(c, o.nargs, o.args, show_one, &p);
    if (p.json) {
        json_close_message(&p);
        printf("\n],\"count\":%llu}\n", (unsigned long long)p.messages);
    }
    return ret;
}

static int cat_one(struct ipc_client *c, const char *qid, void *arg)
{
    struct ipc_qid_msg m;
    struct ipc_reader r;
    struct ipc_chunk ch;
    char what[64];
    int ret;

    (void)arg;
    snprintf(m.qid, sizeof(m.qid), "%s", qid);
    snprintf(what, sizeof(what), "cat %s", qid);
    if (ipc_encode_qid_msg(&c->out, IPC_READ_BODY, ipc_client_request_id(c), &m) < 0)
        spoolctl_usage_error("bad queue id \"%s\"", qid);
    spoolctl_send(c);
    for (;;) {
        if ((ret = spoolctl_recv_soft(c, &r, what)) != 0)
            return ret;
        if (r.type == IPC_END)
            return 0;
        if (ipc_decode_chunk(&r, &ch) < 0) {
            fprintf(stderr, "spoolctl: bad body frame: %s\n", r.error);
            exit(SPOOLCTL_EX_FAIL);
        }
        fwrite(ch.data, 1, ch.len, stdout);
    }
}

int spoolctl_cmd_cat(struct ipc_client *c, int argc, char **argv)
{
    struct spoolctl_opts o;

    spoolctl_opts_parse(argc, argv, "", &o);
    return spoolctl_each_id(c, o.nargs, o.args, cat_one, NULL);
}

static void due_print(const struct ipc_due_item *it, int json, uint64_t n)
{
    char t[32];
    int first = 1;

    if (!json) {
        printf("%s  rcpt %u  %s  due %s\n", it->qid, it->index, rcpt_state_name(it->state),
               spoolctl_iso_time(it->next_attempt_us, t, sizeof(t)));
        return;
    }
    fputs(n ? ",\n{" : "\n{", stdout);
    spoolctl_json_kv_str(stdout, &first, "qid", it->qid);
    spoolctl_json_kv_u64(stdout, &first, "index", it->index);
    spoolctl_json_kv_str(stdout, &first, "state", rcpt_state_name(it->state));
    spoolctl_json_kv_u64(stdout, &first, "next_attempt_us", it->next_attempt_us);
    fputc('}', stdout);
}

int spoolctl_cmd_due(struct ipc_client *c, int argc, char **argv)
{
    struct spoolctl_opts o;
    struct ipc_due_req q = {0};
    struct ipc_reader r;
    uint64_t n = 0;

    spoolctl_opts_parse(argc, argv, "lj", &o);
    if (o.nargs)
        spoolctl_usage_error("due: unexpected argument \"%s\"", o.args[0]);
    q.limit = o.lf.limit;
    spoolctl_connect(c);
    if (ipc_encode_due_req(&c->out, ipc_client_request_id(c), &q) < 0)
        exit(SPOOLCTL_EX_FAIL);
    spoolctl_send(c);
    if (o.json)
        fputs("{\"due\":[", stdout);
    for (;; n++) {
        struct ipc_due_item it;
        struct ipc_end end;

        spoolctl_recv(c, &r);
        if (r.type == IPC_END && ipc_decode_end(&r, &end) == 0)
            break;
        if (ipc_decode_due_item(&r, &it) < 0) {
            fprintf(stderr, "spoolctl: bad due reply: %s\n", r.error);
            return SPOOLCTL_EX_FAIL;
        }
        due_print(&it, o.json, n);
    }
    if (o.json)
        printf("\n],\"count\":%llu}\n", (unsigned long long)n);
    else
        printf("%llu recipients due\n", (unsigned long long)n);
    return 0;
}
