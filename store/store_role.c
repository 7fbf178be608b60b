/* store_role.c - a replicated store's role: the transitions between replica, preparing and master as one pure function. */
#include "store_role.h"

static struct store_role_step step(enum store_role next, enum store_role_action action)
{
    struct store_role_step s = {next, action};

    return s;
}

/* A master (or one about to be) that learns it is not: whatever it answered was committed with
 * its quorum or told to be retried; it stops and starts again as a replica, so that nothing of
 * the old role (open handles, counts, leases) outlives it. */
static struct store_role_step step_down(void)
{
    return step(STORE_ROLE_DEMOTED, STORE_ROLE_DO_DRAIN);
}

struct store_role_step store_role_next(enum store_role now, enum store_role_event ev)
{
    if (now == STORE_ROLE_STOPPING)
        return step(now, STORE_ROLE_DO_NOTHING);
    if (ev == STORE_ROLE_EV_STOP)
        return step(STORE_ROLE_STOPPING, STORE_ROLE_DO_STOP);
    if (now == STORE_ROLE_DEMOTED)
        return step(now, ev == STORE_ROLE_EV_DRAINED ? STORE_ROLE_DO_EXIT : STORE_ROLE_DO_NOTHING);
    switch (now) {
    case STORE_ROLE_STARTING:
    case STORE_ROLE_REPLICA:
        if (ev == STORE_ROLE_EV_ELECTED)
            return step(STORE_ROLE_PREPARING, STORE_ROLE_DO_PREPARE);
        if (ev == STORE_ROLE_EV_CLIENT)
            return step(STORE_ROLE_REPLICA, STORE_ROLE_DO_NOTHING);
        return step(now, STORE_ROLE_DO_NOTHING);
    case STORE_ROLE_PREPARING:
        if (ev == STORE_ROLE_EV_PREPARED)
            return step(STORE_ROLE_MASTER, STORE_ROLE_DO_SERVE);
        if (ev == STORE_ROLE_EV_NOT_YET)
            return step(now, STORE_ROLE_DO_PREPARE_LATER);
        if (ev == STORE_ROLE_EV_CLIENT || ev == STORE_ROLE_EV_DUPMASTER)
            return step_down();
        return step(now, STORE_ROLE_DO_NOTHING);
    case STORE_ROLE_MASTER:
        if (ev == STORE_ROLE_EV_CLIENT || ev == STORE_ROLE_EV_DUPMASTER)
            return step_down();
        return step(now, STORE_ROLE_DO_NOTHING);
    default:
        return step(now, STORE_ROLE_DO_NOTHING);
    }
}

const char *store_role_name(enum store_role r)
{
    static const char *const names[] = {"starting", "replica", "preparing",
                                        "master",   "demoted", "stopping"};

    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}
