/* spoolgate-sendmail - the sendmail(1) drop-in: a message on stdin into the store (or the pickup directory while it is down), sendmail's options, -bs, -bp (mailq), -q. */
#include <getopt.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "sendmail.h"
#include "smtp_envelope.h"
#include "smtp_xtext.h"
#include "store_client.h"
#include "version.h"

enum sm_mode { MODE_DELIVER, MODE_SMTP, MODE_MAILQ, MODE_FLUSH };

struct sm_args {
    const char *config, *sender;
    enum sm_mode mode;
};

static void usage(void)
{
    fprintf(
        stderr,
        "usage: spoolgate-sendmail [-c CONFIG] [-s SOCKET] [-t] [-i] [-f SENDER] [-F NAME]\n"
        "         [-B 7BIT|8BITMIME] [-N NOTIFY] [-R full|hdrs] [-V ENVID] [-o...] [RECIPIENT...]\n"
        "       spoolgate-sendmail -bs | -bp | -q      (SMTP on stdin/stdout, list, flush)\n"
        "  reads the message from stdin; without -i a line with a single '.' ends it;\n"
        "  -t takes the recipients from To, Cc and Bcc too; invoked as mailq: -bp\n");
    exit(EX_USAGE);
}

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "spoolgate-sendmail: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

/* -N never | success,failure,delay */
static uint32_t parse_notify(const char *s)
{
    char buf[64], *save = NULL;
    uint32_t bits = 0;

    snprintf(buf, sizeof(buf), "%s", s);
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (strcasecmp(w, "never") == 0)
            bits |= IPC_NOTIFY_NEVER;
        else if (strcasecmp(w, "success") == 0)
            bits |= IPC_NOTIFY_SUCCESS;
        else if (strcasecmp(w, "failure") == 0)
            bits |= IPC_NOTIFY_FAILURE;
        else if (strcasecmp(w, "delay") == 0)
            bits |= IPC_NOTIFY_DELAY;
        else
            die(EX_USAGE, "-N %s: expected never or success,failure,delay", s);
    }
    if (!bits || ((bits & IPC_NOTIFY_NEVER) && bits != IPC_NOTIFY_NEVER))
        die(EX_USAGE, "-N %s: never goes alone", s);
    return bits;
}

static void set_envid(struct sm_msg *m, const char *v)
{
    const char *why;

    if (smtp_xtext_encode(v, m->begin.envid, sizeof(m->begin.envid)) < 0 ||
        strlen(m->begin.envid) > 100 || smtp_envelope_envid_check(m->begin.envid, &why) < 0)
        die(EX_USAGE, "-V %s: too long for an ENVID (100 octets of xtext)", v);
}

static void set_mode(struct sm_args *a, const char *b)
{
    if (strcmp(b, "m") == 0)
        a->mode = MODE_DELIVER;
    else if (strcmp(b, "s") == 0)
        a->mode = MODE_SMTP;
    else if (strcmp(b, "p") == 0)
        a->mode = MODE_MAILQ;
    else
        die(EX_USAGE, "-b%s: not supported (only -bm, -bs, -bp)", b);
}

/* One option that shapes the message or the envelope. */
static void message_opt(int opt, struct sm_ctx *x, struct sm_msg *m, struct sm_args *a)
{
    switch (opt) {
    case 'f':
    case 'r':
        a->sender = optarg;
        break;
    case 'F':
        x->full_name = optarg;
        break;
    case 'B':
        if (strcasecmp(optarg, "8BITMIME") == 0)
            m->begin.flags |= IPC_FLAG_8BITMIME;
        else if (strcasecmp(optarg, "7BIT") != 0)
            die(EX_USAGE, "-B %s: expected 7BIT or 8BITMIME", optarg);
        break;
    case 'N':
        m->notify = parse_notify(optarg);
        break;
    case 'R':
        if (strcasecmp(optarg, "full") == 0)
            m->begin.ret = IPC_RET_FULL;
        else if (strcasecmp(optarg, "hdrs") == 0)
            m->begin.ret = IPC_RET_HDRS;
        else
            die(EX_USAGE, "-R %s: expected full or hdrs", optarg);
        break;
    case 'V':
        set_envid(m, optarg);
        break;
    }
}

static void parse_args(int argc, char **argv, struct sm_ctx *x, struct sm_msg *m, struct sm_args *a)
{
    const char *name = strrchr(argv[0], '/');
    int opt;

    if (strcmp(name ? name + 1 : argv[0], "mailq") == 0)
        a->mode = MODE_MAILQ;
    opterr = 0;
    while ((opt = getopt(argc, argv, "+c:C:s:f:r:F:B:N:R:V:o:b:q::A:h:L:O:X:itvnmUG")) != -1) {
        switch (opt) {
        case 'c':
        case 'C':
            a->config = optarg;
            break;
        case 's':
            x->socket = optarg;
            x->socket_given = 1;
            break;
        case 'i':
            x->dot_ends = 0;
            break;
        case 'o': /* -oi as -i; every other -oX (-oem, -odb, ...) accepted and ignored */
            if (strcmp(optarg, "i") == 0)
                x->dot_ends = 0;
            break;
        case 't':
            x->extract = 1;
            break;
        case 'v':
            x->verbose = 1;
            break;
        case 'b':
            set_mode(a, optarg);
            break;
        case 'q':
            a->mode = MODE_FLUSH;
            break;
        case 'A':
        case 'h':
        case 'L':
        case 'O':
        case 'X':
        case 'n':
        case 'm':
        case 'U':
        case 'G':
            break; /* sendmail options without a meaning here */
        case '?':
            fprintf(stderr, "spoolgate-sendmail: -%c: %s\n", optopt,
                    strchr("cCsfrFBNRVobAhLOX", optopt) ? "needs an argument" : "unknown option");
            usage();
            break;
        default:
            message_opt(opt, x, m, a);
        }
    }
}

/* Who runs us, where we are, what the config says. */
static void context(struct sm_ctx *x, const char *config)
{
    char err[4096];
    struct passwd *pw;
    static char sock[SC_WHERE_MAX], name[256];

    if (!(x->cfg = config_load(config, err, sizeof(err))))
        die(EX_CONFIG, "config refused: %s", err);
    /* the config fills an empty hostname from the system's */
    snprintf(x->hostname, sizeof(x->hostname), "%s",
             x->cfg->global.hostname[0] ? x->cfg->global.hostname : "localhost");
    snprintf(x->origin, sizeof(x->origin), "%s",
             x->cfg->global.myorigin[0] ? x->cfg->global.myorigin : x->hostname);
    x->uid = getuid();
    if ((pw = getpwuid(x->uid))) {
        snprintf(x->user, sizeof(x->user), "%s", pw->pw_name);
        snprintf(name, sizeof(name), "%s", pw->pw_gecos ? pw->pw_gecos : "");
        name[strcspn(name, ",")] = '\0';
        if (!x->full_name)
            x->full_name = name;
    } else {
        snprintf(x->user, sizeof(x->user), "uid%u", (unsigned)x->uid);
    }
    if (!x->socket && sc_submit_socket_path(x->cfg, sock, sizeof(sock)) == 0)
        x->socket = sock;
    if (!x->socket)
        die(EX_CONFIG, "%s: socket path too long", config_socket_dir(x->cfg));
}

/* The default mode: recipients from the command line (comma lists split) and with -t. */
static int deliver(struct sm_ctx *x, struct sm_msg *m, char **rcpts, int n)
{
    char why[1200], qid[64];

    for (int i = 0; i < n; i++)
        if (sm_add_rcpts(x, m, rcpts[i], why, sizeof(why)) < 0)
            die(EX_DATAERR, "%s", why);
    if (!x->extract && m->nrcpt == 0)
        die(EX_USAGE, "%s", "no recipients given (and no -t)");
    int rc = sm_read_message(stdin, x->dot_ends, x->cfg->store.max_message_size, &m->data);
    if (rc == -2)
        die(EX_DATAERR, "message larger than store.max_message_size (%s)", "not queued");
    if (rc < 0)
        die(EX_IOERR, "%s", "reading the message failed");
    if (sm_prepare(x, m, why, sizeof(why)) < 0)
        die(x->extract && m->nrcpt == 0 ? EX_USAGE : EX_DATAERR, "%s", why);
    switch (sm_submit(x, m, qid, sizeof(qid), why, sizeof(why))) {
    case SM_QUEUED:
        printf("queued as %s\n", qid);
        return EX_OK;
    case SM_PICKUP:
        fprintf(stderr,
                "spoolgate-sendmail: store unavailable (%s): message kept in the pickup "
                "directory as %s, it is queued once the store is back\n",
                why, qid);
        return EX_OK;
    case SM_REFUSED:
        die(EX_UNAVAILABLE, "message refused by the store: %s", why);
        break;
    case SM_FAILED:
        die(EX_TEMPFAIL, "store unavailable, message not queued: %s", why);
    }
    return EX_SOFTWARE;
}

int main(int argc, char **argv)
{
    static struct sm_ctx x = {.dot_ends = 1};
    static struct sm_msg m;
    struct sm_args a = {0};
    char why[1200];
    int rc;

    version_option(argc, argv, "spoolgate-sendmail");
    parse_args(argc, argv, &x, &m, &a);
    context(&x, a.config);
    if (a.mode != MODE_MAILQ && a.mode != MODE_FLUSH &&
        sm_sender(&x, a.sender, &m, why, sizeof(why)) < 0)
        die(EX_DATAERR, "%s", why);
    if (a.mode == MODE_MAILQ)
        rc = sm_mailq(&x);
    else if (a.mode == MODE_FLUSH)
        rc = sm_flush(&x);
    else if (a.mode == MODE_SMTP)
        rc = sm_smtp(&x);
    else
        rc = deliver(&x, &m, argv + optind, argc - optind);
    sm_msg_free(&m);
    config_free(x.cfg);
    return rc;
}
