/* daemon.h - what every spoolgate daemon does at start: common options, config, detach, log. */
#ifndef SPOOLGATE_DAEMON_H
#define SPOOLGATE_DAEMON_H

#include <uv.h>

#include "config.h"
#include "privilege.h"

struct daemon_opts {
    const char *program;     /* "spoolgate-store", ... */
    enum priv_role role;     /* whose user the daemon runs as */
    const char *config_path; /* -c, or NULL */
    int foreground;          /* -f */
    int allow_root;          /* --allow-root: started as root, stay root */
    int drop;                /* started as root: drop to the role's user */
    struct priv_ids ids;     /* every daemon's user, for peer checks */
    /* --check-config: the files the config names (maps, users, certificates), read and
     * parsed as the daemon reads them; 0, or -1 with why.  NULL: none to check. */
    int (*check_files)(const struct sg_config *c, char *why, size_t whysz);
    /* 1: daemon_init keeps freed message buffers for reuse (daemon_malloc_reuse), for the
     * daemons every message passes through; the gateway sets its own malloc threshold. */
    int reuse_malloc;
};

/* Parse -c/-f/--check-config/--dump-config/--help and load the config.
 * Exits for --help, --check-config, --dump-config, bad options and a
 * refused config (printing every problem).  Returns the config. */
struct sg_config *daemon_init(int argc, char **argv, struct daemon_opts *o)
    __attribute__((returns_nonnull));
/* Started as root (and no --allow-root): become the role's user for good,
 * or exit saying why.  Otherwise a note of the uid we run as. */
void daemon_drop_privileges(const struct daemon_opts *o);
/* The socket directory, mode 0751; started as root, it is given to the
 * store's user and the IPC group (the store creates its sockets there). */
void daemon_socket_dir(const struct daemon_opts *o, const struct sg_config *c);
/* Owner and group for a socket file this daemon creates: its user and the
 * IPC group when it drops root, else left as they are ((uid_t)-1). */
void daemon_socket_owner(const struct daemon_opts *o, uid_t *uid, gid_t *gid);
/* Detach from the terminal unless -f, then open the log at the config's level. */
void daemon_detach(const struct daemon_opts *o, const struct sg_config *c);
/* Fork; the parent waits until the child calls daemon_notify_ready() (exit 0) or ends (exit
 * with its status, at least 1), so a daemon that cannot start says why on the starter's
 * stderr and in its exit status.  The child becomes a session leader in /. */
void daemon_background(const char *program);
/* The daemon really serves (sockets listening, store open): READY=1 to the service manager
 * ($NOTIFY_SOCKET), and a detached daemon lets its parent exit 0 and gives up its stderr. */
void daemon_notify_ready(void);
/* SIGHUP: RELOADING=1 before the config is read again, READY=1 after (kept or refused). */
void daemon_notify_reloading(void);
void daemon_notify_reloaded(void);
/* SIGTERM/SIGINT: STOPPING=1 as the stop begins. */
void daemon_notify_stopping(void);
/* SIGTERM, SIGINT and SIGHUP on the loop, all to one callback (it tells them apart by signum). */
struct daemon_signals {
    uv_signal_t term, intr, hup;
};
void daemon_signals_start(uv_loop_t *loop, struct daemon_signals *s, uv_signal_cb cb);
void daemon_signals_close(struct daemon_signals *s);

/* Our host name: [global] hostname, else the system's, else "localhost". */
void daemon_hostname(const struct sg_config *c, char *buf, size_t bufsz);
/* Reload for SIGHUP; NULL (with the reasons logged) keeps the old config. */
struct sg_config *daemon_reload(const struct daemon_opts *o);

#endif
