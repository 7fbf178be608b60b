/* ipc_link.h - a kept-up link to a peer daemon: connect, check its hello, reconnect on a timer, log each change of state once. */
#ifndef SPOOLGATE_IPC_LINK_H
#define SPOOLGATE_IPC_LINK_H

#include <uv.h>

#include "ipc_uv.h"
#include "store_addr.h"

struct ipc_link;

struct ipc_link_ops {
    void (*up)(struct ipc_link *l, void *arg);                    /* optional */
    void (*down)(struct ipc_link *l, const char *why, void *arg); /* optional */
    void (*frame)(struct ipc_link *l, struct ipc_reader *rd,
                  void *arg); /* optional: else frames drop the link */
};

/* Start keeping a link to the daemon on path.  what names the peer in logs
 * ("postoffice gateway").  Returns NULL only when out of memory. */
struct ipc_link *ipc_link_start(uv_loop_t *loop, const char *what, const char *path,
                                const char *program, const char *role, const char *caps,
                                unsigned retry_ms, const struct ipc_link_ops *ops, void *arg);
/* Another address the peer may answer at (the sites of a replicated store): when a connection
 * fails, the next one goes to the next address, at once until every one was tried, then after
 * retry_ms.  0, or -1 when the link has IPC_LINK_PATHS already. */
#define IPC_LINK_PATHS SC_ADDR_MAX
int ipc_link_add_path(struct ipc_link *l, const char *path);
void ipc_link_stop(struct ipc_link *l);
int ipc_link_up(const struct ipc_link *l);
/* Why it is down ("" when up). */
const char *ipc_link_why(const struct ipc_link *l);
/* The connection while up (NULL otherwise). */
struct ipc_uv *ipc_link_conn(const struct ipc_link *l);
/* Is a link going down (again) worth a log line: it was up, nothing was logged yet, or
 * the peer now answers differently (not merely "cannot connect" or "not master")?  For every link a
 * daemon keeps, so that each logs one line per change of its peer. */
int ipc_link_down_news(int was_up, int logged, const char *logged_why, const char *why);
/* The peer misbehaved: drop the connection and reconnect later. */
void ipc_link_reset(struct ipc_link *l, const char *why);

#endif
