/* daemon.h - what every spoolgate daemon does at start: common options, config, detach, log. */
#ifndef SPOOLGATE_DAEMON_H
#define SPOOLGATE_DAEMON_H

#include <uv.h>

#include "config.h"

struct daemon_opts {
    const char *program;     /* "spoolgate-store", ... */
    const char *config_path; /* -c, or NULL */
    int foreground;          /* -f */
};

/* Parse -c/-f/--check-config/--dump-config/--help and load the config.
 * Exits for --help, --check-config, --dump-config, bad options and a
 * refused config (printing every problem).  Returns the config. */
struct sg_config *daemon_init(int argc, char **argv, struct daemon_opts *o);
/* Detach from the terminal unless -f, then open the log at the config's level. */
void daemon_detach(const struct daemon_opts *o, const struct sg_config *c);
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
