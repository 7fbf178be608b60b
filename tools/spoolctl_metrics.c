/* spoolctl_metrics.c - spoolctl metrics: the store's counters and the queue's shape as Prometheus text (node_exporter's textfile collector). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoolctl.h"

/* The store's counters by name (with labels), as METRICS sent them. */
struct metric_set {
    struct ipc_metric_item *v;
    size_t n, cap;
};

static void fetch_metrics(struct ipc_client *c, struct metric_set *m)
{
    struct ipc_reader r;

    if (ipc_encode_empty(&c->out, IPC_METRICS, ipc_client_request_id(c)) < 0)
        exit(SPOOLCTL_EX_FAIL);
    spoolctl_send(c);
    for (;;) {
        spoolctl_recv(c, &r);
        if (r.type == IPC_END)
            return;
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 64;
            if (!(m->v = realloc(m->v, m->cap * sizeof(*m->v))))
                exit(SPOOLCTL_EX_FAIL);
        }
        if (ipc_decode_metric_item(&r, &m->v[m->n]) < 0) {
            fprintf(stderr, "spoolctl: bad metrics reply: %s\n", r.error);
            exit(SPOOLCTL_EX_FAIL);
        }
        m->n++;
    }
}

/* The value the store sent under name (0 when it sent none). */
static uint64_t value(const struct metric_set *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].name, name) == 0)
            return m->v[i].value;
    return 0;
}

static void head(const char *name, const char *type, const char *help)
{
    printf("# HELP spoolgate_%s %s\n# TYPE spoolgate_%s %s\n", name, help, name, type);
}

static void queue_metrics(const struct metric_set *m)
{
    char key[128];

    head("queue_messages", "gauge", "Messages in the store.");
    printf("spoolgate_queue_messages %llu\n", (unsigned long long)value(m, "queue_messages"));
    head("queue_recipients", "gauge", "Recipients in the store by state.");
    for (uint32_t s = 0; s < RCPT_STATE_COUNT; s++) {
        snprintf(key, sizeof(key), "queue_recipients{state=\"%s\"}", rcpt_state_name(s));
        printf("spoolgate_queue_recipients{state=\"%s\"} %llu\n", rcpt_state_name(s),
               (unsigned long long)value(m, key));
    }
}

/* Recipients entering a state, by what it means for delivery. */
static void result_metrics(const struct metric_set *m)
{
    static const struct {
        uint32_t state;
        const char *result;
    } results[] = {{RCPT_DELIVERED, "sent"},
                   {RCPT_DEFERRED, "deferred"},
                   {RCPT_FAILED, "bounced"},
                   {RCPT_HELD, "held"}};
    char key[128];

    head("deliveries_total", "counter",
         "Recipient outcomes recorded by the store since it started (sent, deferred, bounced, "
         "held).");
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
        snprintf(key, sizeof(key), "recipients_entered_total{state=\"%s\"}",
                 rcpt_state_name(results[i].state));
        printf("spoolgate_deliveries_total{result=\"%s\"} %llu\n", results[i].result,
               (unsigned long long)value(m, key));
    }
    head("share_failures_total", "counter",
         "Postoffice recipients the share failed for, as the router reported (since it started).");
    printf("spoolgate_share_failures_total %llu\n",
           (unsigned long long)value(m, IPC_REPORT_SHARE_FAILURES));
    head("attempts_total", "counter", "Delivery attempts started (recipients made active).");
    printf("spoolgate_attempts_total %llu\n",
           (unsigned long long)value(m, "recipients_entered_total{state=\"active\"}"));
}

static void commit_metrics(const struct metric_set *m)
{
    head("store_commit_seconds", "histogram", "Time of the store's durable commits.");
    for (size_t i = 0; i < m->n; i++) {
        unsigned long long le;
        if (sscanf(m->v[i].name, "commit_bucket_us{le=\"%llu\"}", &le) == 1)
            printf("spoolgate_store_commit_seconds_bucket{le=\"%g\"} %llu\n", (double)le / 1e6,
                   (unsigned long long)m->v[i].value);
    }
    printf("spoolgate_store_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
           (unsigned long long)value(m, "commit_bucket_us{le=\"+Inf\"}"));
    printf("spoolgate_store_commit_seconds_sum %.6f\n", (double)value(m, "commit_sum_us") / 1e6);
    printf("spoolgate_store_commit_seconds_count %llu\n",
           (unsigned long long)value(m, "commit_count"));
}

static void session_metrics(const struct metric_set *m)
{
    char role[64];

    head("store_connections", "gauge",
         "Connections to the store now, by role (an smtpd session that submits is one).");
    for (size_t i = 0; i < m->n; i++)
        if (sscanf(m->v[i].name, "store_connections{role=\"%63[a-z]\"}", role) == 1)
            printf("spoolgate_store_connections{role=\"%s\"} %llu\n", role,
                   (unsigned long long)m->v[i].value);
    head("store_connections_total", "counter", "Connections the store accepted since it started.");
    printf("spoolgate_store_connections_total %llu\n",
           (unsigned long long)value(m, "store_connections_total"));
    head("store_start_time_seconds", "gauge", "When the store started (Unix time).");
    printf("spoolgate_store_start_time_seconds %llu\n",
           (unsigned long long)(value(m, "store_started_us") / 1000000u));
    head("store_generation", "gauge", "The store generation.");
    printf("spoolgate_store_generation %llu\n", (unsigned long long)value(m, "store_generation"));
}

/* Recipients by state and age bucket, summed over domains. */
static void age_add(const struct ipc_shape_row *row, void *arg)
{
    uint64_t(*by)[IPC_SHAPE_BUCKETS] = arg;

    for (int b = 0; b < IPC_SHAPE_BUCKETS; b++)
        by[row->state][b] += row->count[b];
}

/* The store's own counts by age when it keeps them (no walk), else the walk of SHAPE. */
static void age_metrics(struct ipc_client *c, const struct metric_set *m)
{
    uint64_t by[RCPT_STATE_COUNT][IPC_SHAPE_BUCKETS] = {{0}};
    struct ipc_list_filter f = {0};

    if (value(m, "queue_age_kept")) {
        for (uint32_t s = 0; s < RCPT_STATE_COUNT; s++)
            for (int b = 0; b < IPC_SHAPE_BUCKETS; b++) {
                char key[96];
                snprintf(key, sizeof(key), "queue_age{state=\"%s\",bucket=\"%d\"}",
                         rcpt_state_name(s), b);
                by[s][b] = value(m, key);
            }
    } else {
        spoolctl_shape_fetch(c, &f, age_add, by);
    }
    head("queue_age_recipients", "gauge",
         "Recipients not final by state and message age (minutes, like qshape's buckets).");
    for (uint32_t s = 0; s < RCPT_STATE_COUNT; s++) {
        if (rcpt_state_final(s))
            continue;
        for (int b = 0; b < IPC_SHAPE_BUCKETS; b++) {
            char age[32];
            if (b < IPC_SHAPE_BUCKETS - 1)
                snprintf(age, sizeof(age), "%u-%um", b ? ipc_shape_minutes[b - 1] : 0,
                         ipc_shape_minutes[b]);
            else
                snprintf(age, sizeof(age), "%um+", ipc_shape_minutes[b - 1]);
            printf("spoolgate_queue_age_recipients{state=\"%s\",age=\"%s\"} %llu\n",
                   rcpt_state_name(s), age, (unsigned long long)by[s][b]);
        }
    }
}

int spoolctl_cmd_metrics(struct ipc_client *c, int argc, char **argv)
{
    struct spoolctl_opts o;
    struct metric_set m = {0};

    spoolctl_opts_parse(argc, argv, "a", &o);
    if (o.nargs)
        spoolctl_usage_error("metrics: unexpected argument \"%s\"", o.args[0]);
    spoolctl_connect(c);
    fetch_metrics(c, &m);
    queue_metrics(&m);
    result_metrics(&m);
    commit_metrics(&m);
    session_metrics(&m);
    if (!o.no_age)
        age_metrics(c, &m);
    free(m.v);
    return 0;
}
