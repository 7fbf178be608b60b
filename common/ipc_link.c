/* ipc_link.c - a kept-up link to a peer daemon, reconnected on a timer; state changes are logged once, not per retry. */
#include "ipc_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_addr.h"

struct ipc_link {
    uv_loop_t *loop;
    char what[64];
    char path[SC_ADDR_LEN]; /* paths.path[current] */
    struct sc_addr_list paths;
    size_t current;
    size_t tried; /* addresses failed since the link was last up */
    char program[IPC_NAME_MAX + 1];
    char role[IPC_NAME_MAX + 1];
    char caps[IPC_CAPS_MAX + 1];
    unsigned retry_ms;
    const struct ipc_link_ops *ops;
    void *arg;
    struct ipc_uv *conn;
    int up;
    int stopping;
    char why[IPC_REPLY_MAX + 64];
    int logged; /* the link's being down is logged (with logged_why) */
    char logged_why[IPC_REPLY_MAX + 64];
    uv_timer_t *retry;
};

static void link_connect(struct ipc_link *l);

static void link_retry_cb(uv_timer_t *t)
{
    link_connect(t->data);
}

int ipc_link_down_news(int was_up, int logged, const char *logged_why, const char *why)
{
    /* Down once: one line.  While it stays down, a peer that is not there yet
     * ("cannot connect"), or a site that is not master (each names the master it knows, so
     * their answers differ while a group elects), is no news; a different answer is. */
    return was_up || !logged ||
           (strncmp(why, "cannot connect", 14) != 0 && strncmp(why, "not master", 10) != 0 &&
            strcmp(logged_why, why) != 0);
}

/* After a failure: the address the peer named (master, when >= 0), else the next one; 1 when
 * the link has not tried every address since it was last up. */
static int link_next_path(struct ipc_link *l, int master)
{
    if (l->paths.n < 2)
        return 0;
    l->current = master >= 0 ? (size_t)master : (l->current + 1) % l->paths.n;
    snprintf(l->path, sizeof(l->path), "%s", l->paths.path[l->current]);
    if (++l->tried < l->paths.n)
        return 1;
    l->tried = 0;
    return 0;
}

int ipc_link_add_path(struct ipc_link *l, const char *path)
{
    if (l->paths.n == IPC_LINK_PATHS)
        return -1;
    snprintf(l->paths.path[l->paths.n++], sizeof(l->paths.path[0]), "%s", path);
    return 0;
}

static void link_down_to(struct ipc_link *l, const char *why, int master)
{
    l->conn = NULL;
    if (ipc_link_down_news(l->up, l->logged, l->logged_why, why)) {
        log_warn("%s unavailable (%s): %s", l->what, l->path, why);
        l->logged = 1;
        snprintf(l->logged_why, sizeof(l->logged_why), "%s", why);
    } else {
        log_debug("%s still unavailable (%s): %s", l->what, l->path, why);
    }
    l->up = 0;
    snprintf(l->why, sizeof(l->why), "%s", why);
    if (l->ops->down)
        l->ops->down(l, why, l->arg);
    if (!l->stopping)
        uv_timer_start(l->retry, link_retry_cb, link_next_path(l, master) ? 0 : l->retry_ms, 0);
}

static void link_down(struct ipc_link *l, const char *why)
{
    link_down_to(l, why, -1);
}

static void link_ready(struct ipc_uv *c, void *arg)
{
    struct ipc_link *l = arg;
    const struct ipc_hello *h = ipc_uv_peer(c);

    l->up = 1;
    l->why[0] = '\0';
    l->logged = 0;
    l->tried = 0;
    log_notice("%s ready: %s protocol %u.%u (%s)", l->what, h->program, h->major, h->minor,
               l->path);
    if (l->ops->up)
        l->ops->up(l, l->arg);
}

static void link_frame(struct ipc_uv *c, struct ipc_reader *rd, void *arg)
{
    struct ipc_link *l = arg;

    if (l->ops->frame)
        l->ops->frame(l, rd, l->arg);
    else
        ipc_link_reset(l, "unexpected frame");
}

/* A store that is not (or no longer) master named the master: that address is tried next. */
static void link_closed(struct ipc_uv *c, const char *why, void *arg)
{
    struct ipc_link *l = arg;
    char text[IPC_REPLY_MAX + 256];
    int master = ipc_uv_closed_why(c, &l->paths, why, text, sizeof(text));

    link_down_to(l, text, master);
}

static const struct ipc_uv_ops link_uv_ops = {
    .ready = link_ready,
    .frame = link_frame,
    .closed = link_closed,
};

static void link_connect(struct ipc_link *l)
{
    if (l->stopping || l->conn)
        return;
    l->conn = ipc_uv_connect(l->loop, l->path, l->program, l->role, l->caps, &link_uv_ops, l);
    if (!l->conn)
        link_down(l, "out of memory");
}

struct ipc_link *ipc_link_start(uv_loop_t *loop, const char *what, const char *path,
                                const char *program, const char *role, const char *caps,
                                unsigned retry_ms, const struct ipc_link_ops *ops, void *arg)
{
    struct ipc_link *l = calloc(1, sizeof(*l));

    if (!l || !(l->retry = malloc(sizeof(*l->retry)))) {
        free(l);
        return NULL;
    }
    l->loop = loop;
    snprintf(l->what, sizeof(l->what), "%s", what);
    snprintf(l->path, sizeof(l->path), "%s", path);
    snprintf(l->paths.path[0], sizeof(l->paths.path[0]), "%s", path);
    l->paths.n = 1;
    snprintf(l->program, sizeof(l->program), "%s", program);
    snprintf(l->role, sizeof(l->role), "%s", role);
    snprintf(l->caps, sizeof(l->caps), "%s", caps);
    snprintf(l->why, sizeof(l->why), "not connected yet");
    l->retry_ms = retry_ms;
    l->ops = ops;
    l->arg = arg;
    uv_timer_init(loop, l->retry);
    l->retry->data = l;
    link_connect(l);
    return l;
}

static void link_timer_closed(uv_handle_t *h)
{
    free(h);
}

void ipc_link_stop(struct ipc_link *l)
{
    if (!l)
        return;
    l->stopping = 1;
    if (l->conn)
        ipc_uv_close(l->conn);
    uv_close((uv_handle_t *)l->retry, link_timer_closed);
    free(l);
}

int ipc_link_up(const struct ipc_link *l)
{
    return l && l->up;
}

const char *ipc_link_why(const struct ipc_link *l)
{
    return l ? l->why : "not configured";
}

struct ipc_uv *ipc_link_conn(const struct ipc_link *l)
{
    return l && l->up ? l->conn : NULL;
}

void ipc_link_reset(struct ipc_link *l, const char *why)
{
    if (l->conn)
        ipc_uv_close(l->conn);
    link_down(l, why);
}
