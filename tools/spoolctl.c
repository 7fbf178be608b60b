/* spoolctl - queue administration over the store socket: list, show, cat, stats, requeue, hold, release, delete. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "store_client.h"
#include "version.h"

#define RECV_TIMEOUT_MS 120000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: spoolctl [-c CONFIG] [-s SOCKET] COMMAND [ARGS]\n"
            "  list [--state S[,S]] [--match TEXT] [--limit N]  every message and its recipients\n"
            "  show QID           envelope and recipients of one message\n"
            "  cat QID            the message body, as stored\n"
            "  stats [--verify]   generation, messages, recipients per state; --verify: and\n"
            "                     check them against a full list (on a quiet queue)\n"
            "  generation         the store generation\n"
            "  requeue [QID]      re-route now (all non-final, non-held recipients)\n"
            "  hold [QID]         hold recipients (no delivery attempts)\n"
            "  release [QID]      release held recipients\n"
            "  delete QID         remove a message\n"
            "  due [--limit N]    recipients whose next attempt is due now\n"
            "states: queued active deferred delivered failed held\n");
}

static void fail(struct ipc_client *c)
{
    fprintf(stderr, "spoolctl: %s\n", c->error);
    exit(1);
}

static const char *iso_time(uint64_t us, char *buf, size_t bufsz)
{
    time_t t = (time_t)(us / 1000000u);
    struct tm tm;

    if (us == 0)
        return "-";
    gmtime_r(&t, &tm);
    strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* Receive the next frame; an ERROR ends the program with its text. */
static void recv_frame(struct ipc_client *c, struct ipc_reader *r)
{
    if (ipc_client_recv(c, r, RECV_TIMEOUT_MS) < 0 || ipc_client_take_error(c, r))
        fail(c);
}

static void print_envelope(const struct ipc_envelope *e)
{
    char t[32];

    printf("%s  gen=%llu  %s  size=%llu  from=<%s>%s%s\n", e->qid,
           (unsigned long long)e->generation, iso_time(e->arrival_us, t, sizeof(t)),
           (unsigned long long)e->size, e->sender, e->origin[0] ? "  origin=" : "", e->origin);
}

static void print_rcpt(const struct ipc_rcpt *r)
{
    char t[32];

    printf("    -> <%s>  %s  attempts=%u  next=%s  route=%s  reply=%s\n", r->addr,
           rcpt_state_name(r->state), r->attempts, iso_time(r->next_attempt_us, t, sizeof(t)),
           r->route[0] ? r->route : "-", r->last_reply[0] ? r->last_reply : "-");
}

/* Print ENVELOPE/RCPT frames until END; returns END's count. */
static uint64_t print_messages(struct ipc_client *c)
{
    struct ipc_reader r;

    for (;;) {
        struct ipc_envelope e;
        struct ipc_rcpt rc;
        struct ipc_end end;

        recv_frame(c, &r);
        if (r.type == IPC_END && ipc_decode_end(&r, &end) == 0)
            return end.count;
        if (r.type == IPC_ENVELOPE && ipc_decode_envelope(&r, &e) == 0)
            print_envelope(&e);
        else if (r.type == IPC_RCPT && ipc_decode_rcpt(&r, &rc) == 0)
            print_rcpt(&rc);
        else {
            fprintf(stderr, "spoolctl: unexpected reply %s: %s\n", ipc_type_name(r.type),
                    r.error ? r.error : "");
            exit(1);
        }
    }
}

static uint32_t parse_states(const char *list)
{
    uint32_t mask = 0;
    char buf[256], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", list);
    for (char *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        int st = rcpt_state_parse(s);
        if (st < 0) {
            fprintf(stderr, "spoolctl: unknown state \"%s\"\n", s);
            exit(2);
        }
        mask |= 1u << st;
    }
    return mask;
}

static int cmd_list(struct ipc_client *c, int argc, char **argv)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"match", required_argument, NULL, 'm'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {NULL, 0, NULL, 0}};
    struct ipc_list_req q = {0};
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 's')
            q.state_mask = parse_states(optarg);
        else if (opt == 'm')
            snprintf(q.match, sizeof(q.match), "%s", optarg);
        else if (opt == 'l')
            q.limit = (uint32_t)strtoul(optarg, NULL, 10);
        else
            return 2;
    }
    if (ipc_encode_list_req(&c->out, ipc_client_request_id(c), &q) < 0 || ipc_client_send(c) < 0)
        fail(c);
    printf("%llu messages\n", (unsigned long long)print_messages(c));
    return 0;
}

static void send_qid(struct ipc_client *c, uint16_t type, const char *qid)
{
    struct ipc_qid_msg m;

    snprintf(m.qid, sizeof(m.qid), "%s", qid ? qid : "");
    if (ipc_encode_qid_msg(&c->out, type, ipc_client_request_id(c), &m) < 0) {
        fprintf(stderr, "spoolctl: bad queue id \"%s\"\n", qid);
        exit(2);
    }
    if (ipc_client_send(c) < 0)
        fail(c);
}

static int cmd_show(struct ipc_client *c, const char *qid)
{
    send_qid(c, IPC_READ_ENVELOPE, qid);
    print_messages(c);
    return 0;
}

static int cmd_cat(struct ipc_client *c, const char *qid)
{
    struct ipc_reader r;
    struct ipc_chunk ch;

    send_qid(c, IPC_READ_BODY, qid);
    for (;;) {
        recv_frame(c, &r);
        if (r.type == IPC_END)
            return 0;
        if (ipc_decode_chunk(&r, &ch) < 0) {
            fprintf(stderr, "spoolctl: bad body frame: %s\n", r.error);
            return 1;
        }
        fwrite(ch.data, 1, ch.len, stdout);
    }
}

/* Count what a full LIST streams: messages, and recipients by state. */
static void list_counts(struct ipc_client *c, uint64_t *messages, uint64_t *by_state)
{
    struct ipc_list_req q = {0};
    struct ipc_reader r;

    if (ipc_encode_list_req(&c->out, ipc_client_request_id(c), &q) < 0 || ipc_client_send(c) < 0)
        fail(c);
    for (;;) {
        struct ipc_rcpt rc;

        recv_frame(c, &r);
        if (r.type == IPC_END)
            return;
        if (r.type == IPC_ENVELOPE)
            (*messages)++;
        else if (r.type == IPC_RCPT && ipc_decode_rcpt(&r, &rc) == 0)
            by_state[rc.state]++;
        else {
            fprintf(stderr, "spoolctl: unexpected reply %s\n", ipc_type_name(r.type));
            exit(1);
        }
    }
}

/* The counts of STATS against a full list: 0 when they agree, 1 (each difference printed). */
static int stats_verify(struct ipc_client *c, const struct ipc_stats *s)
{
    uint64_t messages = 0, by_state[RCPT_STATE_COUNT] = {0};
    int bad = 0;

    list_counts(c, &messages, by_state);
    if (messages != s->messages) {
        printf("verify: messages: stats %llu, list %llu\n", (unsigned long long)s->messages,
               (unsigned long long)messages);
        bad = 1;
    }
    for (int i = 0; i < RCPT_STATE_COUNT; i++) {
        if (by_state[i] == s->by_state[i])
            continue;
        printf("verify: recipients %s: stats %llu, list %llu\n", rcpt_state_name((uint32_t)i),
               (unsigned long long)s->by_state[i], (unsigned long long)by_state[i]);
        bad = 1;
    }
    if (!bad)
        printf("verify: the counts agree with a full list\n");
    return bad;
}

static int cmd_stats(struct ipc_client *c, const char *opt)
{
    struct ipc_reader r;
    struct ipc_stats s;
    char t[32];

    if (ipc_encode_empty(&c->out, IPC_STATS, ipc_client_request_id(c)) < 0 ||
        ipc_client_send(c) < 0)
        fail(c);
    recv_frame(c, &r);
    if (ipc_decode_stats(&r, &s) < 0) {
        fprintf(stderr, "spoolctl: bad stats reply: %s\n", r.error);
        return 1;
    }
    printf("generation: %llu\nstarted: %s\nmessages: %llu\nadopted at start: %llu\n",
           (unsigned long long)s.generation, iso_time(s.started_us, t, sizeof(t)),
           (unsigned long long)s.messages, (unsigned long long)s.adopted);
    for (int i = 0; i < RCPT_STATE_COUNT; i++)
        printf("recipients %s: %llu\n", rcpt_state_name((uint32_t)i),
               (unsigned long long)s.by_state[i]);
    return opt ? stats_verify(c, &s) : 0;
}

static int cmd_due(struct ipc_client *c, int argc, char **argv)
{
    struct ipc_due_req q = {0};
    struct ipc_reader r;

    if (argc == 3 && strcmp(argv[1], "--limit") == 0)
        q.limit = (uint32_t)strtoul(argv[2], NULL, 10);
    if (ipc_encode_due_req(&c->out, ipc_client_request_id(c), &q) < 0 || ipc_client_send(c) < 0)
        fail(c);
    for (;;) {
        struct ipc_due_item it;
        struct ipc_end end;
        char t[32];

        recv_frame(c, &r);
        if (r.type == IPC_END && ipc_decode_end(&r, &end) == 0) {
            printf("%llu recipients due\n", (unsigned long long)end.count);
            return 0;
        }
        if (ipc_decode_due_item(&r, &it) < 0) {
            fprintf(stderr, "spoolctl: bad due reply: %s\n", r.error);
            return 1;
        }
        printf("%s  rcpt %u  %s  due %s\n", it.qid, it.index, rcpt_state_name(it.state),
               iso_time(it.next_attempt_us, t, sizeof(t)));
    }
}

static int cmd_simple(struct ipc_client *c, uint16_t type, const char *qid)
{
    struct ipc_reader r;
    struct ipc_ok ok;

    send_qid(c, type, qid);
    recv_frame(c, &r);
    if (ipc_decode_ok(&r, &ok) < 0) {
        fprintf(stderr, "spoolctl: bad reply: %s\n", r.error);
        return 1;
    }
    printf("%s %s: %llu recipients changed\n", ipc_type_name(type), qid && *qid ? qid : "all",
           (unsigned long long)ok.count);
    return 0;
}

static int run(struct ipc_client *c, int argc, char **argv)
{
    const char *cmd = argv[0], *arg = argc > 1 ? argv[1] : NULL;

    if (strcmp(cmd, "list") == 0)
        return cmd_list(c, argc, argv);
    if (strcmp(cmd, "stats") == 0 && (!arg || strcmp(arg, "--verify") == 0))
        return cmd_stats(c, arg);
    if (strcmp(cmd, "due") == 0)
        return cmd_due(c, argc, argv);
    if (strcmp(cmd, "generation") == 0)
        return printf("%llu\n", (unsigned long long)c->peer.generation) < 0;
    if (strcmp(cmd, "requeue") == 0)
        return cmd_simple(c, IPC_REQUEUE, arg);
    if (strcmp(cmd, "hold") == 0)
        return cmd_simple(c, IPC_HOLD, arg);
    if (strcmp(cmd, "release") == 0)
        return cmd_simple(c, IPC_RELEASE, arg);
    if (!arg)
        return usage(stderr), 2;
    if (strcmp(cmd, "show") == 0)
        return cmd_show(c, arg);
    if (strcmp(cmd, "cat") == 0)
        return cmd_cat(c, arg);
    if (strcmp(cmd, "delete") == 0)
        return cmd_simple(c, IPC_DELETE, arg);
    usage(stderr);
    return 2;
}

static const char *socket_from_config(const char *path, char *buf, size_t bufsz)
{
    char err[4096];
    struct sg_config *cfg = config_load(path, err, sizeof(err));

    if (!cfg) {
        fprintf(stderr, "spoolctl: config refused:\n%s", err);
        exit(1);
    }
    if (sc_socket_path(cfg, buf, bufsz) < 0) {
        fprintf(stderr, "spoolctl: socket path too long\n");
        exit(1);
    }
    config_free(cfg);
    return buf;
}

int main(int argc, char **argv)
{
    const char *config = NULL, *sock = NULL;
    char sockbuf[256];
    struct ipc_client c;
    int opt, ret;

    version_option(argc, argv, "spoolctl");
    while ((opt = getopt(argc, argv, "+c:s:h")) != -1) {
        if (opt == 'c')
            config = optarg;
        else if (opt == 's')
            sock = optarg;
        else
            return usage(opt == 'h' ? stdout : stderr), opt == 'h' ? 0 : 2;
    }
    if (optind >= argc)
        return usage(stderr), 2;
    if (!sock)
        sock = socket_from_config(config, sockbuf, sizeof(sockbuf));
    if (sc_sync_connect(&c, sock, "spoolctl", "admin", "list,read,admin,due") < 0)
        fail(&c);
    ret = run(&c, argc - optind, argv + optind);
    ipc_client_close(&c);
    return ret;
}
