/* store_role.h - a replicated store's role: the transitions between replica, preparing and master as one pure function. */
#ifndef SPOOLGATE_STORE_ROLE_H
#define SPOOLGATE_STORE_ROLE_H

enum store_role {
    STORE_ROLE_STARTING,  /* replication started; no role known yet: clients are refused */
    STORE_ROLE_REPLICA,   /* a replica: clients are refused, named the master */
    STORE_ROLE_PREPARING, /* elected: databases, a new generation, adoption; clients refused */
    STORE_ROLE_MASTER,    /* serving */
    STORE_ROLE_DEMOTED,   /* no longer master: answering what is in flight, then exit */
    STORE_ROLE_STOPPING,  /* a signal: the ordinary stop */
};

enum store_role_event {
    STORE_ROLE_EV_CLIENT,    /* Berkeley DB: this site is a replica */
    STORE_ROLE_EV_ELECTED,   /* Berkeley DB: this site is master */
    STORE_ROLE_EV_DUPMASTER, /* Berkeley DB: another master exists */
    STORE_ROLE_EV_PREPARED,  /* the databases are open, the generation made, all adopted */
    STORE_ROLE_EV_NOT_YET,   /* preparing could not finish yet (no quorum, group incomplete) */
    STORE_ROLE_EV_DRAINED,   /* every connection is closed */
    STORE_ROLE_EV_STOP,      /* SIGTERM, SIGINT */
};

enum store_role_action {
    STORE_ROLE_DO_NOTHING,
    STORE_ROLE_DO_PREPARE,       /* open and adopt (on a worker) */
    STORE_ROLE_DO_PREPARE_LATER, /* again after a pause */
    STORE_ROLE_DO_SERVE,         /* take clients */
    STORE_ROLE_DO_DRAIN,         /* answer what is in flight, close every connection */
    STORE_ROLE_DO_EXIT,          /* exit so that the next start rejoins as a replica */
    STORE_ROLE_DO_STOP,          /* the ordinary stop */
};

struct store_role_step {
    enum store_role next;
    enum store_role_action action;
};

struct store_role_step store_role_next(enum store_role now, enum store_role_event ev);
const char *store_role_name(enum store_role r);

#endif
