/* ipc_uv.h - asynchronous IPC client connection on a libuv loop: connect, hello check, framed send and receive. */
#ifndef SPOOLGATE_IPC_UV_H
#define SPOOLGATE_IPC_UV_H

#include <uv.h>

#include "ipc.h"

struct ipc_uv;

struct ipc_uv_ops {
    /* The hellos were exchanged and the peer is acceptable. */
    void (*ready)(struct ipc_uv *c, void *arg);
    /* One whole frame after the hello; r is initialised on it and valid
     * only during the call.  The callee may call ipc_uv_close(). */
    void (*frame)(struct ipc_uv *c, struct ipc_reader *r, void *arg);
    /* Everything queued was written (optional; for flow control). */
    void (*drained)(struct ipc_uv *c, void *arg);
    /* Connect failed, the peer refused us or is unacceptable, or the
     * connection was lost; why says which.  Called once; c is freed after
     * it returns.  Not called after ipc_uv_close(). */
    void (*closed)(struct ipc_uv *c, const char *why, void *arg);
};

/* Start connecting to a Unix socket.  Our hello carries program, role and
 * the capabilities we need; the peer's hello must offer them and speak our
 * major version.  Returns NULL only when out of memory. */
struct ipc_uv *ipc_uv_connect(uv_loop_t *loop, const char *path, const char *program,
                              const char *role, const char *caps_needed,
                              const struct ipc_uv_ops *ops, void *arg);
/* Change the callbacks and their argument (a connection handed to another owner). */
void ipc_uv_set_ops(struct ipc_uv *c, const struct ipc_uv_ops *ops, void *arg);
/* Frames to send are built here, then ipc_uv_flush() writes them. */
struct sg_buf *ipc_uv_out(struct ipc_uv *c);
/* Write what was built.  0, or -1 when the connection is closing or the
 * frames could not be built (out of memory): the caller treats the
 * connection as lost (closed will be called). */
int ipc_uv_flush(struct ipc_uv *c);
/* Bytes handed to the kernel but not yet written. */
size_t ipc_uv_pending(const struct ipc_uv *c);
/* A new request id. */
uint32_t ipc_uv_request_id(struct ipc_uv *c);
/* The peer's hello (valid once ready). */
const struct ipc_hello *ipc_uv_peer(const struct ipc_uv *c);
/* The store's role (IPC_ROLE) as last told, NULL from a peer that sends none. */
const struct ipc_role *ipc_uv_role(const struct ipc_uv *c);
/* The store address of the master this store named when it said it is not master (refusing us,
 * or later when it stepped down); NULL when it is master or named none.  Valid in closed. */
const char *ipc_uv_follow(const struct ipc_uv *c);
/* In closed: why, with what the store's role says (it stepped down, the master is ...) into
 * text; returns the entry of list the next connection should go to (the master the store
 * named), or -1 for the next one in order. */
struct sc_addr_list;
int ipc_uv_closed_why(const struct ipc_uv *c, const struct sc_addr_list *list, const char *why,
                      char *text, size_t textsz);
/* Stop (1) or restart (0) reading frames: flow control for streams.  A
 * frame callback may pause; frames already read wait for the resume. */
void ipc_uv_pause(struct ipc_uv *c, int paused);
/* Close without the closed callback. */
void ipc_uv_close(struct ipc_uv *c);

#endif
