/* ipc_server_offer.c - what the IPC server offers: its hello's role, capabilities and generation, and the role message (IPC_ROLE) after the hello and on every change. */
#include <stdio.h>
#include <string.h>

#include "ipc_server_int.h"

void ipc_server_set_generation(struct ipc_server *s, uint64_t generation)
{
    s->hello.generation = generation;
}

/* What our hello offers: the daemon's capabilities, and IPC_CAP_ROLE when a role is set. */
static void server_offer(struct ipc_server *s)
{
    const char *sep = s->caps_base[0] ? "," : "";

    if (s->has_role)
        snprintf(s->hello.caps_offered, sizeof(s->hello.caps_offered), "%.*s%s%s",
                 (int)(sizeof(s->caps_base) - sizeof(IPC_CAP_ROLE) - 2), s->caps_base, sep,
                 IPC_CAP_ROLE);
    else
        snprintf(s->hello.caps_offered, sizeof(s->hello.caps_offered), "%s", s->caps_base);
}

void ipc_server_set_offer(struct ipc_server *s, const char *role, const char *caps_offered)
{
    if (!s)
        return;
    snprintf(s->hello.role, sizeof(s->hello.role), "%s", role);
    snprintf(s->caps_base, sizeof(s->caps_base), "%s", caps_offered);
    server_offer(s);
}

/* The role goes to a client whose hello from us offered it and whose minor takes it (one
 * that connected before the server had a role was told nothing of it). */
void ipc_server_conn_send_role(struct ipc_server_conn *c)
{
    if (!c->srv->has_role || !c->role_offered || c->peer.minor < IPC_MINOR_ROLE ||
        !ipc_server_conn_alive(c))
        return;
    ipc_encode_role(&c->out, 0, &c->srv->role);
    ipc_server_conn_flush(c);
}

static int role_same(const struct ipc_role *a, const struct ipc_role *b)
{
    return strcmp(a->role, b->role) == 0 && strcmp(a->site, b->site) == 0 &&
           strcmp(a->master, b->master) == 0 && strcmp(a->master_addr, b->master_addr) == 0 &&
           a->generation == b->generation;
}

void ipc_server_set_role(struct ipc_server *s, const struct ipc_role *role)
{
    if (!s || (s->has_role && role_same(&s->role, role)))
        return;
    s->role = *role;
    s->has_role = 1;
    server_offer(s);
    for (struct ipc_server_conn *c = s->conns; c; c = c->next)
        if (c->state == CONN_READY)
            ipc_server_conn_send_role(c);
}
