/* ipc_tcp.c - the socket options of an IPC connection over TCP: no Nagle delay, and a peer host that drops off the network found within seconds (keepalive, user timeout). */
#include "ipc_tcp.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void set_int(int fd, int level, int name, int value)
{
    /* Best effort: without one of them a lost host is found later, by TCP's own timeouts. */
    (void)setsockopt(fd, level, name, &value, sizeof(value));
}

void ipc_tcp_tune(uv_tcp_t *t)
{
    uv_os_fd_t fd;

    uv_tcp_nodelay(t, 1);
    if (uv_fileno((const uv_handle_t *)t, &fd) != 0)
        return;
    set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, IPC_TCP_KEEPIDLE_S);
    set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, IPC_TCP_KEEPINTVL_S);
    set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, IPC_TCP_KEEPCNT);
    set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, IPC_TCP_USER_TIMEOUT_MS);
}
