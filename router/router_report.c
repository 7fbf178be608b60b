/* router_report.c - the router's own counters (share failures), reported to the store for spoolctl metrics: one REPORT in flight, the latest total sent again when it changed meanwhile or the store came back. */
#include <stdlib.h>

#include "log.h"
#include "router.h"

static int report_encode(struct sg_buf *b, uint32_t id, void *arg)
{
    struct router *r = arg;
    struct ipc_metric_item m = {.value = r->share_failures};

    snprintf(m.name, sizeof(m.name), "%s", IPC_REPORT_SHARE_FAILURES);
    r->report_sent = r->share_failures;
    return ipc_encode_metric_as(b, IPC_REPORT, id, &m);
}

static int report_answer(struct router *r, struct ipc_reader *rd, void *arg)
{
    (void)arg;
    r->report_busy = 0;
    if (rd->type != IPC_OK)
        log_warn("the store refused the router's counters (%s)", ipc_type_name(rd->type));
    else if (r->report_sent != r->share_failures)
        router_report_send(r);
    return 1;
}

static void report_fail(struct router *r, const char *why, void *arg)
{
    (void)why;
    (void)arg;
    r->report_busy = 0; /* sent again at the next link-up */
}

void router_report_send(struct router *r)
{
    if (r->report_busy)
        return;
    if (router_store_request(r, report_encode, report_answer, report_fail, r) == 0)
        r->report_busy = 1;
}

void router_report_share_failure(struct router *r)
{
    r->share_failures++;
    router_report_send(r);
}
