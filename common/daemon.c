/* daemon.c - the start-up every spoolgate daemon shares: options, config, detach, log. */
#include "daemon.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

static void daemon_usage(FILE *out, const char *program)
{
    fprintf(out,
            "usage: %s [-c FILE] [-f] [--check-config] [--dump-config]\n"
            "  -c, --config FILE   config file (default %s if it exists,\n"
            "                      else the embedded default)\n"
            "  -f, --foreground    stay in the foreground and log to stderr\n"
            "      --check-config  validate the config and exit\n"
            "      --dump-config   print every key with its value and exit\n",
            program, SPOOLGATE_CONFIG_PATH);
}

struct sg_config *daemon_init(int argc, char **argv, struct daemon_opts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
        {"check-config", no_argument, NULL, 'C'}, {"dump-config", no_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int opt, check = 0, dump = 0;
    char err[8192];
    struct sg_config *c;

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
        case 'h':
            daemon_usage(stdout, o->program);
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
    return c;
}

void daemon_detach(const struct daemon_opts *o, const struct sg_config *c)
{
    if (!o->foreground && daemon(0, 0) < 0) {
        perror(o->program);
        exit(1);
    }
    log_open(o->program, o->foreground, c->global.syslog_facility);
    log_set_level(c->global.log_level);
    {
        char why[512];

        if (config_warning(c, why, sizeof(why)))
            log_warn("%s", why);
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
