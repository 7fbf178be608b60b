/* spoolctl - queue administration over the store socket: the command line, exit codes, the connection; the commands are in spoolctl_*.c. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "qid.h"
#include "spoolctl.h"
#include "store_client.h"
#include "version.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: spoolctl [-c CONFIG] [-s SOCKET] COMMAND [OPTIONS] [ARGS]\n"
            "listing (--json for JSON on stdout):\n"
            "  list [FILTER] [--match TEXT] [--limit N]  messages and their recipients\n"
            "  show QID...|-        envelope and recipients     cat QID...|-   the stored body\n"
            "  stats [--verify]     generation, messages, recipients per state\n"
            "  summary [FILTER]     queue shape: recipient domain x age (like qshape)\n"
            "  status               the store, the daemons connected to it, counts, pauses\n"
            "  due [--limit N]      recipients whose next attempt is due now\n"
            "  metrics [--no-age]   Prometheus text for node_exporter's textfile collector\n"
            "  generation           the store generation\n"
            "  repl                 a replicated store: each site's role, peers, log position\n"
            "  repl remove SITE     take a stopped site out of the group (asks the master)\n"
            "changing (QID... or - for ids on stdin, or ALL with an optional FILTER):\n"
            "  requeue  re-route now            hold     no delivery attempts\n"
            "  release  undo hold               delete   remove the message\n"
            "  flush    deferred recipients due now (QID or ALL; no argument = ALL)\n"
            "  pause DOMAIN|ALL     no deliveries to that recipient domain (or any)\n"
            "  resume DOMAIN|ALL    deliveries again; what the pause deferred is due now\n"
            "FILTER: --state S[,S] --from ADDR|@DOMAIN|'<>' --to ADDR|@DOMAIN --domain DOMAIN\n"
            "        --older-than DURATION (90s 15m 2h 3d 1w)\n"
            "states: queued active deferred delivered failed held\n"
            "exit: 0 done, 64 usage, 67 a message not found, 75 store unavailable, 1 other\n");
}

void spoolctl_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("spoolctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    usage(stderr);
    exit(SPOOLCTL_EX_USAGE);
}

int spoolctl_exit_code(uint32_t ipc_error)
{
    switch (ipc_error) {
    case IPC_ERR_NOTFOUND:
        return SPOOLCTL_EX_NOTFOUND;
    case IPC_ERR_TEMP:
    case IPC_ERR_NOSPACE:
        return SPOOLCTL_EX_TEMPFAIL;
    default:
        return SPOOLCTL_EX_FAIL;
    }
}

/* A transport failure: the store went away or never answered. */
void spoolctl_fail(struct ipc_client *c)
{
    fprintf(stderr, "spoolctl: store unavailable: %s\n", c->error);
    exit(SPOOLCTL_EX_TEMPFAIL);
}

void spoolctl_send(struct ipc_client *c)
{
    if (c->out.failed) {
        fprintf(stderr, "spoolctl: request does not fit a frame\n");
        exit(SPOOLCTL_EX_USAGE);
    }
    if (ipc_client_send(c) < 0)
        spoolctl_fail(c);
}

int spoolctl_recv_soft(struct ipc_client *c, struct ipc_reader *r, const char *what)
{
    uint32_t code;

    if (ipc_client_recv(c, r, SPOOLCTL_RECV_TIMEOUT_MS) < 0)
        spoolctl_fail(c);
    if ((code = ipc_client_take_error(c, r)) == 0)
        return 0;
    (void)what; /* the store's text names the request already */
    fprintf(stderr, "spoolctl: %s\n", c->error);
    return spoolctl_exit_code(code);
}

void spoolctl_recv(struct ipc_client *c, struct ipc_reader *r)
{
    int ret = spoolctl_recv_soft(c, r, NULL);

    if (ret)
        exit(ret);
}

const char *spoolctl_iso_time(uint64_t us, char *buf, size_t bufsz)
{
    time_t t = (time_t)(us / 1000000u);
    struct tm tm;

    if (us == 0)
        return "-";
    gmtime_r(&t, &tm);
    strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static const char *spoolctl_socket;
static int spoolctl_connected;

const char *spoolctl_where(void)
{
    return spoolctl_socket;
}

void spoolctl_connect(struct ipc_client *c)
{
    if (spoolctl_connected)
        return;
    if (sc_sync_connect(c, spoolctl_socket, "spoolctl", "admin", "list,read,admin,due") < 0)
        spoolctl_fail(c);
    spoolctl_connected = 1;
}

static int id_check(const char *qid)
{
    uint64_t v;

    if (qid_parse(qid, &v) < 0)
        spoolctl_usage_error("bad queue id \"%s\"", qid);
    return 0;
}

/* Ids from stdin, white space separated: all read and checked before any is used. */
static char **ids_from_stdin(size_t *n)
{
    char **v = NULL, word[64];
    size_t cap = 0;

    *n = 0;
    while (scanf("%63s", word) == 1) {
        if (*n == cap) {
            char **grown;

            cap = cap ? cap * 2 : 64;
            if (!(grown = realloc(v, cap * sizeof(*v))))
                exit(SPOOLCTL_EX_FAIL);
            v = grown;
        }
        id_check(word);
        if (!(v[(*n)++] = strdup(word)))
            exit(SPOOLCTL_EX_FAIL);
    }
    return v;
}

/* The worst result wins: store unavailable over not found over done. */
static int worse(int a, int b)
{
    if (a == SPOOLCTL_EX_TEMPFAIL || b == SPOOLCTL_EX_TEMPFAIL)
        return SPOOLCTL_EX_TEMPFAIL;
    return a > b ? a : b;
}

int spoolctl_each_id(struct ipc_client *c, int nargs, char **args, spoolctl_id_fn fn, void *arg)
{
    char **ids = NULL;
    size_t n = 0;
    int ret = 0, from_stdin = 0;

    if (nargs == 0)
        spoolctl_usage_error("a queue id, several, or - (ids on stdin) expected");
    for (int i = 0; i < nargs; i++) {
        if (strcmp(args[i], "-") == 0)
            from_stdin = 1;
        else if (strcmp(args[i], "ALL") == 0)
            spoolctl_usage_error("ALL is not a queue id here");
        else
            id_check(args[i]);
    }
    if (from_stdin && nargs > 1)
        spoolctl_usage_error("- (ids on stdin) goes alone");
    if (from_stdin) {
        ids = ids_from_stdin(&n);
        if (n)
            spoolctl_connect(c);
        for (size_t i = 0; i < n; i++)
            ret = worse(ret, fn(c, ids[i], arg)), free(ids[i]);
        free(ids);
        return ret;
    }
    spoolctl_connect(c);
    for (int i = 0; i < nargs; i++)
        ret = worse(ret, fn(c, args[i], arg));
    return ret;
}

static int run(struct ipc_client *c, int argc, char **argv)
{
    static const struct {
        const char *name;
        uint32_t op;
    } ops[] = {{"requeue", IPC_OP_REQUEUE},
               {"hold", IPC_OP_HOLD},
               {"release", IPC_OP_RELEASE},
               {"delete", IPC_OP_DELETE},
               {"flush", IPC_OP_FLUSH}};
    const char *cmd = argv[0];

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(cmd, ops[i].name) == 0)
            return spoolctl_cmd_admin(c, ops[i].op, argc, argv);
    if (strcmp(cmd, "list") == 0)
        return spoolctl_cmd_list(c, argc, argv);
    if (strcmp(cmd, "show") == 0)
        return spoolctl_cmd_show(c, argc, argv);
    if (strcmp(cmd, "cat") == 0)
        return spoolctl_cmd_cat(c, argc, argv);
    if (strcmp(cmd, "due") == 0)
        return spoolctl_cmd_due(c, argc, argv);
    if (strcmp(cmd, "stats") == 0)
        return spoolctl_cmd_stats(c, argc, argv);
    if (strcmp(cmd, "summary") == 0)
        return spoolctl_cmd_summary(c, argc, argv);
    if (strcmp(cmd, "status") == 0)
        return spoolctl_cmd_status(c, argc, argv);
    if (strcmp(cmd, "metrics") == 0)
        return spoolctl_cmd_metrics(c, argc, argv);
    if (strcmp(cmd, "pause") == 0)
        return spoolctl_cmd_pause(c, IPC_PAUSE, argc, argv);
    if (strcmp(cmd, "resume") == 0)
        return spoolctl_cmd_pause(c, IPC_RESUME, argc, argv);
    if (strcmp(cmd, "repl") == 0 && argc > 1 && strcmp(argv[1], "remove") == 0)
        return spoolctl_cmd_repl_remove(c, argc, argv);
    if (strcmp(cmd, "repl") == 0)
        return spoolctl_cmd_repl(argc, argv);
    if (strcmp(cmd, "generation") == 0 && argc == 1 && (spoolctl_connect(c), 1))
        return printf("%llu\n", (unsigned long long)c->peer.generation) < 0;
    spoolctl_usage_error("unknown command \"%s\"", cmd);
}

static int known_command(const char *cmd)
{
    static const char *const cmds[] = {
        "requeue", "hold",    "release", "delete",  "flush", "list",   "show",       "cat", "due",
        "stats",   "summary", "status",  "metrics", "pause", "resume", "generation", "repl"};

    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(cmd, cmds[i]) == 0)
            return 1;
    return 0;
}

/* Where the store is (given, or the config's), and this host's IPC certificate for a tcp: one. */
static const char *socket_from_config(const char *path, const char *given, char *buf, size_t bufsz)
{
    char err[4096];
    struct sg_config *cfg = config_load(path, err, sizeof(err));

    if (!cfg) {
        fprintf(stderr, "spoolctl: config refused:\n%s", err);
        exit(SPOOLCTL_EX_FAIL);
    }
    if (given)
        snprintf(buf, bufsz, "%s", given);
    else if (sc_socket_path(cfg, buf, bufsz) < 0) {
        fprintf(stderr, "spoolctl: socket path too long\n");
        exit(SPOOLCTL_EX_FAIL);
    }
    if (sc_sync_tls(cfg, buf, err, sizeof(err)) < 0) {
        fprintf(stderr, "spoolctl: %s\n", err);
        exit(SPOOLCTL_EX_FAIL);
    }
    config_free(cfg);
    return buf;
}

int main(int argc, char **argv)
{
    const char *config = NULL, *sock = NULL;
    char sockbuf[SC_WHERE_MAX];
    struct ipc_client c;
    int opt, ret;

    version_option(argc, argv, "spoolctl");
    while ((opt = getopt(argc, argv, "+c:s:h")) != -1) {
        if (opt == 'c')
            config = optarg;
        else if (opt == 's')
            sock = optarg;
        else if (opt == 'h')
            return usage(stdout), 0;
        else
            return usage(stderr), SPOOLCTL_EX_USAGE;
    }
    if (optind >= argc)
        return usage(stderr), SPOOLCTL_EX_USAGE;
    if (!known_command(argv[optind]))
        spoolctl_usage_error("unknown command \"%s\"", argv[optind]);
    if (!sock || strstr(sock, "tcp:"))
        sock = socket_from_config(config, sock, sockbuf, sizeof(sockbuf));
    spoolctl_socket = sock; /* connected once the command line is known to be right */
    ret = run(&c, argc - optind, argv + optind);
    if (spoolctl_connected)
        ipc_client_close(&c);
    return ret;
}
