/* daemon.c - the start-up every spoolgate daemon shares: options, config, detach, log. */
#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_malloc.h"
#include "ipc_tls.h"
#include "log.h"
#include "version.h"

static void daemon_usage(FILE *out, const char *program)
{
    fprintf(out,
            "usage: %s [-c FILE] [-f] [--allow-root] [--check-config] [--dump-config] [--version]\n"
            "  -c, --config FILE   config file (default %s if it exists,\n"
            "                      else the embedded default)\n"
            "  -f, --foreground    stay in the foreground and log to stderr\n"
            "      --allow-root    started as root, keep running as root (not advised);\n"
            "                      without it a daemon started as root runs as its user\n"
            "                      (global.*_user) or refuses to start\n"
            "      --check-config  validate the config and exit\n"
            "      --dump-config   print every key with its value and exit\n"
            "      --version       print the version and exit\n",
            program, SPOOLGATE_CONFIG_PATH);
}

/* Before detaching, so the reason reaches the terminal: can we drop root as we must? */
static void daemon_privileges_check(struct daemon_opts *o, const struct sg_config *c)
{
    char why[256];

    priv_ids_load(c, &o->ids);
    if (geteuid() != 0 || o->allow_root)
        return;
    priv_check_drop(&o->ids, o->role, why, sizeof(why));
    if (why[0]) {
        fprintf(stderr,
                "%s: will not run as root: %s.\n"
                "  Create the users (scripts/add-users; make install-users does the same),\n"
                "  or start with --allow-root to keep every privilege (not advised).\n",
                o->program, why);
        exit(1);
    }
    o->drop = 1;
}

/* daemon_malloc_reuse() failed at init: said once the log is open. */
static int daemon_malloc_refused;

struct sg_config *daemon_init(int argc, char **argv, struct daemon_opts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
        {"check-config", no_argument, NULL, 'C'}, {"dump-config", no_argument, NULL, 'D'},
        {"allow-root", no_argument, NULL, 'R'},   {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    int opt, check = 0, dump = 0;
    char err[8192];
    struct sg_config *c;

    if (o->reuse_malloc && daemon_malloc_reuse() < 0)
        daemon_malloc_refused = 1;

    while ((opt = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            o->config_path = optarg;
            break;
        case 'f':
            o->foreground = 1;
            break;
        case 'C':
            check = 1;
            break;
        case 'D':
            dump = 1;
            break;
        case 'R':
            o->allow_root = 1;
            break;
        case 'h':
            daemon_usage(stdout, o->program);
            exit(0);
        case 'V':
            version_print(stdout, o->program);
            exit(0);
        default:
            daemon_usage(stderr, o->program);
            exit(2);
        }
    }
    if (optind != argc) {
        daemon_usage(stderr, o->program);
        exit(2);
    }
    c = config_load(o->config_path, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "%s: config refused:\n%s", o->program, err);
        exit(1);
    }
    /* the IPC certificate and key are read now, before privileges are dropped */
    if (ipc_tls_setup(c, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: config refused: %s: global.ipc_tls_cert: %s\n", o->program, c->source,
                err);
        config_free(c);
        exit(1);
    }
    if (check && o->check_files && o->check_files(c, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: config refused: %s: %s\n", o->program, c->source, err);
        config_free(c);
        exit(1);
    }
    if (check && config_warning(c, err, sizeof(err)))
        fprintf(stderr, "%s: warning: %s\n", o->program, err);
    if (check || dump) {
        if (dump)
            config_dump(stdout, c, 1);
        else
            printf("%s: config OK\n", c->source);
        config_free(c);
        exit(0);
    }
    daemon_privileges_check(o, c);
    return c;
}

/* What an operator should hear of at every start: the embedded default in use, a host name
 * that is not fully qualified, a config that leaves no room (config_warning). */
static void daemon_config_notes(const struct sg_config *c)
{
    char why[512], host[256];

    if (strcmp(c->source, CONFIG_EMBEDDED_NAME) == 0)
        log_notice("no configuration file (%s, or -c FILE): the embedded default is in use: "
                   "every listener on loopback, state under %s",
                   SPOOLGATE_CONFIG_PATH, c->global.state_dir);
    daemon_hostname(c, host, sizeof(host));
    if (!strchr(host, '.'))
        log_warn("host name \"%s\" is not fully qualified: set [global] hostname (greetings, "
                 "Received lines and DSNs carry it, and peers may refuse it)",
                 host);
    if (config_warning(c, why, sizeof(why)))
        log_warn("%s", why);
    if (daemon_malloc_refused)
        log_notice("malloc thresholds not set (mallopt refused them): message buffers are given "
                   "back to the kernel after each message and faulted in again for the next");
}

void daemon_detach(const struct daemon_opts *o, const struct sg_config *c)
{
    if (!o->foreground)
        daemon_background(o->program);
    log_open(o->program, o->foreground, c->global.syslog_facility);
    log_set_level(c->global.log_level);
    daemon_config_notes(c);
}

void daemon_drop_privileges(const struct daemon_opts *o)
{
    char why[256];
    const struct priv_user *u = &o->ids.user[o->role];

    if (!o->drop) {
        if (geteuid() == 0)
            log_warn("running as root (--allow-root): every daemon bug is a root bug");
        else
            log_info("running as uid %u (not started as root: nothing to drop)",
                     (unsigned)geteuid());
        return;
    }
    if (priv_drop(&o->ids, o->role, why, sizeof(why)) < 0)
        log_fatal("cannot drop root: %s", why);
    log_notice("running as user %s (uid %u, gid %u, group %s)", u->name, (unsigned)u->uid,
               (unsigned)u->gid, o->ids.ipc_group);
}

void daemon_socket_dir(const struct daemon_opts *o, const struct sg_config *c)
{
    const struct priv_user *store = &o->ids.user[PRIV_ROLE_STORE];
    char why[512];

    if (o->drop && store->known && o->ids.ipc_known) {
        if (priv_own_dir(config_socket_dir(c), store->uid, o->ids.ipc_gid, 0751, why, sizeof(why)) <
            0)
            log_fatal("socket directory %s", why);
        return;
    }
    /* Searchable by all: the submission socket is for every local user; the others are 0660. */
    if (mkdir(config_socket_dir(c), 0751) < 0 && errno != EEXIST)
        log_fatal("%s: cannot create socket directory: %s", config_socket_dir(c), strerror(errno));
}

void daemon_socket_owner(const struct daemon_opts *o, uid_t *uid, gid_t *gid)
{
    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    if (o->drop) {
        *uid = o->ids.user[o->role].uid;
        *gid = o->ids.ipc_gid;
    }
}

struct sg_config *daemon_reload(const struct daemon_opts *o)
{
    char err[8192];
    struct sg_config *n = config_load(o->config_path, err, sizeof(err));

    if (!n)
        log_error("reload refused, the old config stays in force:\n%s", err);
    return n;
}

void daemon_hostname(const struct sg_config *c, char *buf, size_t bufsz)
{
    if (c->global.hostname[0])
        snprintf(buf, bufsz, "%s", c->global.hostname);
    else if (gethostname(buf, bufsz - 1) < 0)
        snprintf(buf, bufsz, "localhost");
    buf[bufsz - 1] = '\0';
}

void daemon_signals_start(uv_loop_t *loop, struct daemon_signals *s, uv_signal_cb cb)
{
    uv_signal_init(loop, &s->term);
    uv_signal_init(loop, &s->intr);
    uv_signal_init(loop, &s->hup);
    uv_signal_start(&s->term, cb, SIGTERM);
    uv_signal_start(&s->intr, cb, SIGINT);
    uv_signal_start(&s->hup, cb, SIGHUP);
}

void daemon_signals_close(struct daemon_signals *s)
{
    uv_close((uv_handle_t *)&s->term, NULL);
    uv_close((uv_handle_t *)&s->intr, NULL);
    uv_close((uv_handle_t *)&s->hup, NULL);
}
