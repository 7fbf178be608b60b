/* spoolgate-sendmail - local injection: a message on stdin into the store, sendmail-style arguments. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "smtp_envelope.h"
#include "store_client.h"
#include "version.h"

#define CHUNK 65536

struct injector {
    struct ipc_client c;
    struct sc_sync_submit sub;
    uint8_t buf[CHUNK];
    size_t len;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: spoolgate-sendmail [-c CONFIG] [-s SOCKET] [-f SENDER] [-i] RECIPIENT...\n"
            "  reads the message from stdin; LF line ends become CRLF; without -i a line\n"
            "  with a single '.' ends the message\n");
    exit(EX_USAGE);
}

static void die(int code, const char *what, const char *why)
{
    fprintf(stderr, "spoolgate-sendmail: %s: %s\n", what, why);
    exit(code);
}

/* A refused address, shown without the control characters it may hold (each as '?'). */
static void die_address(const char *kind, const char *addr, const char *why)
{
    char shown[120];
    size_t i;

    for (i = 0; addr[i] && i < sizeof(shown) - 4; i++)
        shown[i] = (unsigned char)addr[i] < 0x20 || addr[i] == 0x7f ? '?' : addr[i];
    snprintf(shown + i, sizeof(shown) - i, "%s", addr[i] ? "..." : "");
    fprintf(stderr, "spoolgate-sendmail: %s <%s> refused: %s\n", kind, shown, why);
    exit(EX_DATAERR);
}

/* Hand the buffer to the submission when it is full (or at the end). */
static void flush_chunk(struct injector *in)
{
    if (in->len == 0)
        return;
    if (sc_sync_chunk(&in->sub, in->buf, in->len) < 0)
        die(EX_TEMPFAIL, "sending the message", in->c.error);
    in->len = 0;
}

static void put_bytes(struct injector *in, const char *p, size_t n)
{
    while (n > 0) {
        size_t room = CHUNK - in->len, k = n < room ? n : room;
        memcpy(in->buf + in->len, p, k);
        in->len += k;
        p += k;
        n -= k;
        if (in->len == CHUNK)
            flush_chunk(in);
    }
}

/* Copy stdin as CRLF lines. */
static void copy_body(struct injector *in, int dot_ends)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, stdin)) > 0) {
        size_t len = (size_t)n;
        if (line[len - 1] == '\n')
            len -= (len >= 2 && line[len - 2] == '\r') ? 2 : 1;
        if (dot_ends && len == 1 && line[0] == '.')
            break;
        put_bytes(in, line, len);
        put_bytes(in, "\r\n", 2);
    }
    free(line);
    flush_chunk(in);
}

static const char *store_socket(const char *config, char *buf, size_t bufsz)
{
    char err[4096];
    struct sg_config *cfg = config_load(config, err, sizeof(err));

    if (!cfg)
        die(EX_CONFIG, "config refused", err);
    if (sc_submit_socket_path(cfg, buf, bufsz) < 0)
        die(EX_CONFIG, "config", "socket path too long");
    config_free(cfg);
    return buf;
}

static void begin(struct injector *in, const char *sender, char **rcpts, int nrcpt)
{
    struct ipc_submit_begin b = {0};
    struct ipc_submit_rcpt *r = calloc((size_t)nrcpt, sizeof(*r));
    const char *why;

    if (!r)
        die(EX_TEMPFAIL, "recipients", "out of memory");
    if (strlen(sender) > IPC_ADDR_MAX)
        die_address("sender", sender, "longer than 511 octets");
    if (smtp_envelope_sender_check(sender, &why) < 0)
        die_address("sender", sender, why);
    snprintf(b.sender, sizeof(b.sender), "%s", sender);
    for (int i = 0; i < nrcpt; i++) {
        if (strlen(rcpts[i]) > IPC_ADDR_MAX)
            die_address("recipient", rcpts[i], "longer than 511 octets");
        if (smtp_envelope_rcpt_check(rcpts[i], &why) < 0)
            die_address("recipient", rcpts[i], why);
        snprintf(r[i].addr, sizeof(r[i].addr), "%s", rcpts[i]);
    }
    if (sc_sync_begin(&in->sub, &in->c, &b, r, (size_t)nrcpt) < 0)
        die(EX_TEMPFAIL, "store", in->c.error);
    free(r);
}

static void commit(struct injector *in)
{
    struct ipc_submitted done;
    int rc = sc_sync_commit(&in->sub, &done, 120000);

    if (rc < 0)
        die(EX_TEMPFAIL, "store", in->c.error);
    if (rc > 0)
        die(EX_TEMPFAIL, "message not queued", in->c.error);
    printf("queued as %s\n", done.qid);
}

int main(int argc, char **argv)
{
    static struct injector in;
    const char *config = NULL, *sock = NULL, *sender = NULL;
    char sockbuf[256], defsender[300];
    int opt, dot_ends = 1;

    version_option(argc, argv, "spoolgate-sendmail");
    while ((opt = getopt(argc, argv, "c:s:f:io:")) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 's':
            sock = optarg;
            break;
        case 'f':
            sender = optarg;
            break;
        case 'i':
            dot_ends = 0;
            break;
        case 'o':
            if (strcmp(optarg, "i") == 0)
                dot_ends = 0;
            break; /* -oi */
        default:
            usage();
        }
    }
    if (optind >= argc)
        usage();
    if (!sender) {
        const char *user = getenv("USER");
        snprintf(defsender, sizeof(defsender), "%s@localhost", user ? user : "root");
        sender = defsender;
    }
    if (!sock)
        sock = store_socket(config, sockbuf, sizeof(sockbuf));
    if (sc_sync_connect(&in.c, sock, "spoolgate-sendmail", "submit", "submit") < 0)
        die(EX_TEMPFAIL, "store unavailable, message not queued", in.c.error);
    begin(&in, sender, argv + optind, argc - optind);
    copy_body(&in, dot_ends);
    commit(&in);
    ipc_client_close(&in.c);
    return EX_OK;
}
