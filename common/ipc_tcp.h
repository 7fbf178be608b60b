/* ipc_tcp.h - the socket options of an IPC connection over TCP: no Nagle delay, and a peer host that drops off the network found within seconds (keepalive, user timeout). */
#ifndef SPOOLGATE_IPC_TCP_H
#define SPOOLGATE_IPC_TCP_H

#include <uv.h>

/* A peer host that is gone (cut off, powered off: no RST, no FIN) is found by the kernel: an
 * idle connection after IPC_TCP_KEEPIDLE_S and IPC_TCP_KEEPCNT unanswered probes, one with
 * data unacknowledged after IPC_TCP_USER_TIMEOUT_MS; the connection then fails (ETIMEDOUT)
 * and the client goes on to its next store address.  A stopped process on a live host is not
 * found this way: its kernel still answers (the hello timeout covers new connections). */
#define IPC_TCP_KEEPIDLE_S 5
#define IPC_TCP_KEEPINTVL_S 2
#define IPC_TCP_KEEPCNT 3
#define IPC_TCP_USER_TIMEOUT_MS 15000

/* TCP_NODELAY, SO_KEEPALIVE with the times above, TCP_USER_TIMEOUT on a connected t. */
void ipc_tcp_tune(uv_tcp_t *t);

#endif
