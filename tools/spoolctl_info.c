/* spoolctl_info.c - spoolctl's reports: stats, summary (the queue's shape, like qshape), status (the store and who is connected). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoolctl.h"

void spoolctl_get_stats(struct ipc_client *c, struct ipc_stats *s)
{
    struct ipc_reader r;

    if (ipc_encode_empty(&c->out, IPC_STATS, ipc_client_request_id(c)) < 0)
        exit(SPOOLCTL_EX_FAIL);
    spoolctl_send(c);
    spoolctl_recv(c, &r);
    if (ipc_decode_stats(&r, s) < 0) {
        fprintf(stderr, "spoolctl: bad stats reply: %s\n", r.error);
        exit(SPOOLCTL_EX_FAIL);
    }
}

/* Count what a full LIST streams: messages, and recipients by state. */
static void list_counts(struct ipc_client *c, uint64_t *messages, uint64_t *by_state)
{
    struct ipc_list_req q = {0};
    struct ipc_reader r;

    if (ipc_encode_list_req(&c->out, ipc_client_request_id(c), &q) < 0)
        exit(SPOOLCTL_EX_FAIL);
    spoolctl_send(c);
    for (;;) {
        struct ipc_rcpt rc;

        spoolctl_recv(c, &r);
        if (r.type == IPC_END)
            return;
        if (r.type == IPC_ENVELOPE)
            (*messages)++;
        else if (r.type == IPC_RCPT && ipc_decode_rcpt(&r, &rc) == 0)
            by_state[rc.state]++;
        else {
            fprintf(stderr, "spoolctl: unexpected reply %s\n", ipc_type_name(r.type));
            exit(SPOOLCTL_EX_FAIL);
        }
    }
}

/* The counts of STATS against a full list: 0 when they agree, 1 (each difference printed). */
static int stats_verify(struct ipc_client *c, const struct ipc_stats *s)
{
    uint64_t messages = 0, by_state[RCPT_STATE_COUNT] = {0};
    int bad = 0;

    list_counts(c, &messages, by_state);
    if (messages != s->messages) {
        printf("verify: messages: stats %llu, list %llu\n", (unsigned long long)s->messages,
               (unsigned long long)messages);
        bad = 1;
    }
    for (int i = 0; i < RCPT_STATE_COUNT; i++) {
        if (by_state[i] == s->by_state[i])
            continue;
        printf("verify: recipients %s: stats %llu, list %llu\n", rcpt_state_name((uint32_t)i),
               (unsigned long long)s->by_state[i], (unsigned long long)by_state[i]);
        bad = 1;
    }
    if (!bad)
        printf("verify: the counts agree with a full list\n");
    return bad;
}

static void stats_json_members(const struct ipc_stats *s, int *first)
{
    char t[32];
    int f2 = 1;

    spoolctl_json_kv_u64(stdout, first, "generation", s->generation);
    spoolctl_json_kv_str(stdout, first, "started", spoolctl_iso_time(s->started_us, t, sizeof(t)));
    spoolctl_json_kv_u64(stdout, first, "started_us", s->started_us);
    spoolctl_json_kv_u64(stdout, first, "messages", s->messages);
    spoolctl_json_kv_u64(stdout, first, "adopted", s->adopted);
    spoolctl_json_key(stdout, first, "recipients");
    fputc('{', stdout);
    for (uint32_t i = 0; i < RCPT_STATE_COUNT; i++)
        spoolctl_json_kv_u64(stdout, &f2, rcpt_state_name(i), s->by_state[i]);
    fputc('}', stdout);
}

int spoolctl_cmd_stats(struct ipc_client *c, int argc, char **argv)
{
    struct spoolctl_opts o;
    struct ipc_stats s;
    char t[32];
    int first = 1;

    spoolctl_opts_parse(argc, argv, "vj", &o);
    if (o.nargs)
        spoolctl_usage_error("stats: unexpected argument \"%s\"", o.args[0]);
    if (o.json && o.verify)
        spoolctl_usage_error("stats: --verify prints text only");
    spoolctl_connect(c);
    spoolctl_get_stats(c, &s);
    if (o.json) {
        fputc('{', stdout);
        stats_json_members(&s, &first);
        fputs("}\n", stdout);
        return 0;
    }
    printf("generation: %llu\nstarted: %s\nmessages: %llu\nadopted at start: %llu\n",
           (unsigned long long)s.generation, spoolctl_iso_time(s.started_us, t, sizeof(t)),
           (unsigned long long)s.messages, (unsigned long long)s.adopted);
    for (int i = 0; i < RCPT_STATE_COUNT; i++)
        printf("recipients %s: %llu\n", rcpt_state_name((uint32_t)i),
               (unsigned long long)s.by_state[i]);
    return o.verify ? stats_verify(c, &s) : 0;
}

/* ---- summary --------------------------------------------------------------- */

struct shape_dom {
    char domain[IPC_ADDR_MAX + 1];
    uint64_t total, count[IPC_SHAPE_BUCKETS];
};

struct shape {
    struct shape_dom all;
    struct shape_dom *v;
    size_t n, cap;
};

static struct shape_dom *shape_dom(struct shape *s, const char *domain)
{
    for (size_t i = 0; i < s->n; i++) /* domains are few next to messages */
        if (strcmp(s->v[i].domain, domain) == 0)
            return &s->v[i];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        if (!(s->v = realloc(s->v, s->cap * sizeof(*s->v))))
            exit(SPOOLCTL_EX_FAIL);
    }
    memset(&s->v[s->n], 0, sizeof(s->v[0]));
    snprintf(s->v[s->n].domain, sizeof(s->v[0].domain), "%s", domain);
    return &s->v[s->n++];
}

/* SHAPE with the filter: fn gets each row. */
void spoolctl_shape_fetch(struct ipc_client *c, const struct ipc_list_filter *f,
                          spoolctl_shape_fn fn, void *arg)
{
    struct ipc_reader r;

    if (ipc_encode_list_filter_as(&c->out, IPC_SHAPE, ipc_client_request_id(c), f) < 0)
        spoolctl_usage_error("filter does not fit a request");
    spoolctl_send(c);
    for (;;) {
        struct ipc_shape_row row;

        spoolctl_recv(c, &r);
        if (r.type == IPC_END)
            return;
        if (ipc_decode_shape_row(&r, &row) < 0) {
            fprintf(stderr, "spoolctl: bad shape reply: %s\n", r.error);
            exit(SPOOLCTL_EX_FAIL);
        }
        fn(&row, arg);
    }
}

static void shape_add(const struct ipc_shape_row *row, void *arg)
{
    struct shape *s = arg;
    struct shape_dom *d = shape_dom(s, row->domain[0] ? row->domain : "(no domain)");

    for (int b = 0; b < IPC_SHAPE_BUCKETS; b++) {
        d->count[b] += row->count[b];
        d->total += row->count[b];
        s->all.count[b] += row->count[b];
        s->all.total += row->count[b];
    }
}

static int dom_cmp(const void *a, const void *b)
{
    const struct shape_dom *x = a, *y = b;

    if (x->total != y->total)
        return x->total < y->total ? 1 : -1;
    return strcmp(x->domain, y->domain);
}

static void summary_json_dom(const struct shape_dom *d, int comma)
{
    int first = 1;

    fputs(comma ? ",\n{" : "\n{", stdout);
    spoolctl_json_kv_str(stdout, &first, "domain", d->domain);
    spoolctl_json_kv_u64(stdout, &first, "total", d->total);
    spoolctl_json_key(stdout, &first, "counts");
    for (int b = 0; b < IPC_SHAPE_BUCKETS; b++)
        printf("%s%llu", b ? "," : "[", (unsigned long long)d->count[b]);
    fputs("]}", stdout);
}

static void summary_print(const struct shape *s, int json)
{
    if (json) {
        fputs("{\"bucket_minutes\":[", stdout);
        for (int b = 0; b < IPC_SHAPE_BUCKETS - 1; b++)
            printf("%s%u", b ? "," : "", ipc_shape_minutes[b]);
        fputs("],\"total\":", stdout);
        printf("%llu,\"all\":[", (unsigned long long)s->all.total);
        for (int b = 0; b < IPC_SHAPE_BUCKETS; b++)
            printf("%s%llu", b ? "," : "", (unsigned long long)s->all.count[b]);
        fputs("],\"domains\":[", stdout);
        for (size_t i = 0; i < s->n; i++)
            summary_json_dom(&s->v[i], i > 0);
        fputs("\n]}\n", stdout);
        return;
    }
    printf("%30s %6s", "", "T");
    for (int b = 0; b < IPC_SHAPE_BUCKETS - 1; b++)
        printf(" %5u", ipc_shape_minutes[b]);
    printf(" %5u+\n", ipc_shape_minutes[IPC_SHAPE_BUCKETS - 2]);
    for (size_t i = 0; i <= s->n; i++) {
        const struct shape_dom *d = i == 0 ? &s->all : &s->v[i - 1];
        printf("%30.30s %6llu", i == 0 ? "TOTAL" : d->domain, (unsigned long long)d->total);
        for (int b = 0; b < IPC_SHAPE_BUCKETS; b++)
            printf(" %5llu", (unsigned long long)d->count[b]);
        printf("\n");
    }
}

int spoolctl_cmd_summary(struct ipc_client *c, int argc, char **argv)
{
    struct spoolctl_opts o;
    struct shape s = {0};

    spoolctl_opts_parse(argc, argv, "fj", &o);
    if (o.nargs)
        spoolctl_usage_error("summary: unexpected argument \"%s\"", o.args[0]);
    spoolctl_connect(c);
    spoolctl_shape_fetch(c, &o.lf, shape_add, &s);
    if (s.n)
        qsort(s.v, s.n, sizeof(s.v[0]), dom_cmp);
    summary_print(&s, o.json);
    free(s.v);
    return 0;
}
