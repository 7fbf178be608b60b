/* store_client.c - test driver for common/store_client against a real store: submit with back-pressure, read with pause/resume, commit refused, abort, the store killed mid-stream; TAP on stdout. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_client.h"

#define BIG_SIZE (4u * 1024u * 1024u)
#define FEED_CHUNK 65536u
#define TIMEOUT_MS 20000

static uv_loop_t *loop;
static struct store_client sc;
static int tap_num, tap_failed;
static int timed_out;

static void tap(int good, const char *what)
{
    printf("%s %d - %s\n", good ? "ok" : "not ok", ++tap_num, what);
    fflush(stdout);
    tap_failed += !good;
}

/* The body's octet at offset i: 62 letters and CRLF a line. */
static uint8_t body_at(size_t i)
{
    size_t col = i % 64;

    return col == 62 ? '\r' : col == 63 ? '\n' : (uint8_t)('A' + (i / 64) % 26);
}

static void timeout_cb(uv_timer_t *t)
{
    timed_out = 1;
}

/* Run the loop until *flag is set (or the timeout); 1 if it was. */
static int run_until(const int *flag)
{
    uv_timer_t t;

    timed_out = 0;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, timeout_cb, TIMEOUT_MS, 0);
    while (!*flag && !timed_out)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return *flag;
}

/* ---- a connection ------------------------------------------------------------------------ */

struct conn {
    struct sc_conn *c;
    int ready, closed, drained;
    char why[256];
    void (*on_drained)(struct conn *k);
    void *user;
};

static void conn_ready(struct sc_conn *c, void *arg)
{
    ((struct conn *)arg)->ready = 1;
}

static void conn_drained(struct sc_conn *c, void *arg)
{
    struct conn *k = arg;

    k->drained++;
    if (k->on_drained)
        k->on_drained(k);
}

static void conn_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct conn *k = arg;

    k->closed++;
    k->c = NULL;
    snprintf(k->why, sizeof(k->why), "%s", why);
}

static const struct sc_conn_ops conn_ops = {
    .ready = conn_ready, .drained = conn_drained, .closed = conn_closed};

static int conn_open(struct conn *k, const char *caps)
{
    memset(k, 0, sizeof(*k));
    k->c = sc_connect(&sc, caps, &conn_ops, k);
    return k->c && run_until(&k->ready);
}

/* ---- a submission ------------------------------------------------------------------------- */

struct sub {
    struct conn *k;
    size_t total, sent;
    int full_seen, done_calls, started, ok, lost;
    uint32_t code;
    char qid[IPC_QID_MAX + 1];
    char text[256];
};

static void sub_started(void *arg, const char *qid)
{
    struct sub *s = arg;

    s->started = 1;
    snprintf(s->qid, sizeof(s->qid), "%s", qid);
}

static void sub_done(void *arg, const struct sc_status *st, const struct ipc_submitted *m)
{
    struct sub *s = arg;

    s->done_calls++;
    s->ok = m != NULL;
    s->lost = st->lost;
    s->code = st->code;
    snprintf(s->text, sizeof(s->text), "%s", st->text);
    if (m)
        snprintf(s->qid, sizeof(s->qid), "%s", m->qid);
}

static const struct sc_submit_ops sub_ops = {.started = sub_started, .done = sub_done};

/* Feed while the connection takes more; commit at the end. */
static void sub_feed(struct sub *s)
{
    uint8_t buf[FEED_CHUNK];
    struct sc_conn *c = s->k->c;

    while (s->sent < s->total && !sc_submit_full(c)) {
        size_t n = s->total - s->sent < FEED_CHUNK ? s->total - s->sent : FEED_CHUNK;

        for (size_t i = 0; i < n; i++)
            buf[i] = body_at(s->sent + i);
        s->sent += n;
        if (sc_submit_chunk(c, buf, n) < 0)
            return;
    }
    if (s->sent < s->total) {
        s->full_seen++;
        return; /* the drained callback resumes */
    }
    sc_submit_commit(c);
}

static void sub_drained(struct conn *k)
{
    struct sub *s = k->user;

    if (s && s->sent < s->total && !s->done_calls)
        sub_feed(s);
}

static int sub_begin(struct sub *s, struct conn *k, size_t total, int nrcpt, const char *sender)
{
    struct ipc_submit_begin b = {0};

    memset(s, 0, sizeof(*s));
    s->k = k;
    s->total = total;
    k->user = s;
    k->on_drained = sub_drained;
    snprintf(b.sender, sizeof(b.sender), "%s", sender);
    if (sc_submit_begin(k->c, &b, &sub_ops, s) < 0)
        return -1;
    for (int i = 0; i < nrcpt; i++) {
        struct ipc_submit_rcpt r = {.notify = 0};

        snprintf(r.addr, sizeof(r.addr), "rcpt%d@example.test", i);
        if (sc_submit_rcpt(k->c, &r) < 0)
            return -1;
    }
    return 0;
}

/* ---- a read ------------------------------------------------------------------------------- */

struct rd {
    struct conn *k;
    int envelopes, rcpts, ends, failed, bad_octets, while_paused, pauses, lost;
    uint32_t nrcpt, code;
    size_t got;
    int paused, close_at_end, pause_every;
    int fin; /* end or failed came */
    uv_timer_t resume;
};

static void rd_envelope(void *arg, const struct ipc_envelope *e)
{
    struct rd *r = arg;

    r->envelopes++;
    r->nrcpt = e->nrcpt;
}

static void rd_rcpt(void *arg, const struct ipc_rcpt *x)
{
    ((struct rd *)arg)->rcpts++;
}

static void rd_resume(uv_timer_t *t)
{
    struct rd *r = t->data;

    r->paused = 0;
    if (r->k->c)
        sc_read_pause(r->k->c, 0);
}

static void rd_chunk(void *arg, const uint8_t *data, size_t len)
{
    struct rd *r = arg;

    r->while_paused += r->paused;
    for (size_t i = 0; i < len; i++)
        r->bad_octets += data[i] != body_at(r->got + i);
    r->got += len;
    if (r->pause_every && (r->got / FEED_CHUNK) % (size_t)r->pause_every == 0 && !r->paused) {
        r->paused = 1;
        r->pauses++;
        sc_read_pause(r->k->c, 1);
        uv_timer_start(&r->resume, rd_resume, 5, 0);
    }
}

static void rd_end(void *arg)
{
    struct rd *r = arg;

    r->ends++;
    r->fin = 1;
    if (r->close_at_end) {
        sc_close(r->k->c); /* inside a callback: the client frees it later */
        r->k->c = NULL;
    }
}

static void rd_failed(void *arg, const struct sc_status *st)
{
    struct rd *r = arg;

    r->failed++;
    r->fin = 1;
    r->lost = st->lost;
    r->code = st->code;
}

static const struct sc_read_ops rd_ops = {
    .envelope = rd_envelope,
    .rcpt = rd_rcpt,
    .chunk = rd_chunk,
    .end = rd_end,
    .failed = rd_failed,
};

static void rd_init(struct rd *r, struct conn *k)
{
    memset(r, 0, sizeof(*r));
    r->k = k;
    uv_timer_init(loop, &r->resume);
    r->resume.data = r;
}

static void rd_done(struct rd *r)
{
    uv_close((uv_handle_t *)&r->resume, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* ---- the tests ---------------------------------------------------------------------------- */

static char big_qid[IPC_QID_MAX + 1];

static void test_submit_backpressure(void)
{
    struct conn k;
    struct sub s;

    if (!conn_open(&k, "submit") || sub_begin(&s, &k, BIG_SIZE, 2, "big@test.invalid") < 0) {
        tap(0, "submit: connected and begun");
        return;
    }
    sub_feed(&s);
    run_until(&s.done_calls);
    tap(s.done_calls == 1 && s.ok && s.started && s.qid[0],
        "submit: a 4 MiB body in 64 KiB chunks is committed");
    tap(s.full_seen > 0 && k.drained > 0,
        "submit: the feeder was told to stop and resumed when drained");
    tap(sc_submit_size(k.c) == BIG_SIZE, "submit: the size counted is the size fed");
    tap(sc_idle(k.c), "submit: the connection is idle after the commit");
    snprintf(big_qid, sizeof(big_qid), "%s", s.qid);
    sc_close(k.c);
}

static void test_read_pause(void)
{
    struct conn k;
    struct rd r;

    if (!conn_open(&k, "read")) {
        tap(0, "read: connected");
        return;
    }
    rd_init(&r, &k);
    tap(sc_read_envelope(k.c, big_qid, &rd_ops, &r) == 0 && run_until(&r.fin) && r.ends == 1 &&
            r.envelopes == 1 && r.nrcpt == 2 && r.rcpts == 2,
        "read: the envelope and its two recipients, then the end");
    r.fin = 0;
    r.ends = 0;
    r.pause_every = 4;
    r.close_at_end = 1;
    tap(sc_read_body(k.c, big_qid, &rd_ops, &r) == 0 && run_until(&r.fin) && r.ends == 1 &&
            !r.failed,
        "read: the body streams to its end");
    tap(r.got == BIG_SIZE && r.bad_octets == 0, "read: every octet as submitted");
    tap(r.pauses > 10 && r.while_paused == 0,
        "read: paused and resumed many times, no chunk while paused");
    rd_done(&r);
    /* The same through a connection of its own, paused before it is up. */
    rd_init(&r, &k);
    k.c = sc_open_body(&sc, big_qid, &rd_ops, &r);
    sc_read_pause(k.c, 1);
    r.paused = 1;
    uv_timer_start(&r.resume, rd_resume, 50, 0);
    run_until(&r.fin);
    tap(r.ends == 1 && r.got == BIG_SIZE && r.bad_octets == 0 && r.while_paused == 0,
        "read: sc_open_body, paused before the connection is up, reads the whole body");
    sc_close(k.c);
    rd_done(&r);
}

static void test_commit_refused(void)
{
    struct conn k;
    struct sub s;
    static const char body[] = "Subject: none\r\n\r\nno recipients\r\n";

    if (!conn_open(&k, "submit") || sub_begin(&s, &k, 0, 0, "norcpt@test.invalid") < 0) {
        tap(0, "refused: connected and begun");
        return;
    }
    sc_submit_chunk(k.c, body, sizeof(body) - 1);
    sc_submit_commit(k.c);
    run_until(&s.done_calls);
    tap(s.done_calls == 1 && !s.ok && !s.lost && s.code == IPC_ERR_PERM &&
            strstr(s.text, "no recipients"),
        "refused: a commit without recipients reports the store's error once");
    /* The connection stays usable. */
    sub_begin(&s, &k, 1000, 1, "after@test.invalid");
    sub_feed(&s);
    run_until(&s.done_calls);
    tap(s.done_calls == 1 && s.ok, "refused: the next submission on the connection is committed");
    sc_close(k.c);
}

static void test_abort(void)
{
    struct conn k, kr;
    struct sub s;
    struct rd r;
    char qid[IPC_QID_MAX + 1];

    if (!conn_open(&k, "submit") || !conn_open(&kr, "read") ||
        sub_begin(&s, &k, 0, 1, "abort@test.invalid") < 0) {
        tap(0, "abort: connected and begun");
        return;
    }
    sc_submit_chunk(k.c, "body\r\n", 6);
    run_until(&s.started);
    snprintf(qid, sizeof(qid), "%s", s.qid);
    sc_submit_abort(k.c);
    rd_init(&r, &kr);
    sc_read_envelope(kr.c, qid, &rd_ops, &r);
    run_until(&r.fin);
    tap(r.failed == 1 && !r.lost && r.code == IPC_ERR_NOTFOUND && s.done_calls == 0,
        "abort: no message is left, and the submitter is not called back");
    rd_done(&r);
    /* An abort before the store's STARTED: its late answer is dropped. */
    sub_begin(&s, &k, 0, 1, "abort2@test.invalid");
    sc_submit_abort(k.c);
    sub_begin(&s, &k, 5000, 1, "after-abort@test.invalid");
    sub_feed(&s);
    run_until(&s.done_calls);
    tap(s.done_calls == 1 && s.ok && !k.closed,
        "abort: the connection goes on to commit the next submission");
    sc_close(k.c);
    sc_close(kr.c);
}

static void update_done(void *arg, const struct sc_status *st)
{
    (*(int *)arg)++;
}

struct answer {
    int calls;
    uint32_t code;
};

static void answer_done(void *arg, const struct sc_status *st)
{
    struct answer *a = arg;

    a->calls++;
    a->code = st->code;
}

static void test_requests(void)
{
    struct conn k;
    struct answer hold = {0}, release = {0}, missing = {0}, bad = {0};
    char other[IPC_QID_MAX + 1];

    snprintf(other, sizeof(other), "%s", big_qid);
    other[strlen(other) - 1] = other[strlen(other) - 1] == '0' ? '1' : '0';
    if (!conn_open(&k, "admin")) {
        tap(0, "requests: connected");
        return;
    }
    /* Three at once: each answer finds its own callback by request id. */
    sc_qid_request(k.c, IPC_HOLD, big_qid, answer_done, &hold);
    sc_qid_request(k.c, IPC_DELETE, other, answer_done, &missing);
    sc_qid_request(k.c, IPC_RELEASE, big_qid, answer_done, &release);
    run_until(&release.calls);
    run_until(&missing.calls);
    tap(hold.calls == 1 && hold.code == 0 && release.calls == 1 && release.code == 0,
        "requests: hold and release are answered OK");
    tap(missing.calls == 1 && missing.code == IPC_ERR_NOTFOUND,
        "requests: a missing message is the store's NOTFOUND");
    tap(sc_idle(k.c), "requests: nothing is outstanding after the answers");
    /* A request the store refuses outright: it closes the connection, and says why. */
    sc_qid_request(k.c, IPC_DELETE, "not a qid", answer_done, &bad);
    run_until(&k.closed);
    tap(bad.calls == 1 && k.closed == 1 && strstr(k.why, "bad queue id"),
        "requests: the store's refusal of the connection reaches the request and the owner");
}

static void test_store_gone(pid_t store_pid)
{
    struct conn ks, kr, ku;
    struct sub s;
    struct rd r;
    struct ipc_rcpt_update u = {.index = 0, .state = RCPT_DEFERRED};
    int updates = 0, submitted_later;

    if (!conn_open(&ks, "submit") || !conn_open(&kr, "read") || !conn_open(&ku, "update") ||
        sub_begin(&s, &ks, BIG_SIZE, 1, "gone@test.invalid") < 0) {
        tap(0, "gone: connected and begun");
        return;
    }
    sc_submit_chunk(ks.c, "partial\r\n", 9);
    rd_init(&r, &kr);
    sc_read_body(kr.c, big_qid, &rd_ops, &r);
    r.pause_every = 1; /* paused at the first chunk, resumed 5 ms later */
    while (!r.got && run_until(&r.pauses))
        ;
    snprintf(u.qid, sizeof(u.qid), "%s", big_qid);
    sc_update_rcpt(ku.c, &u, update_done, &updates);
    kill(store_pid, SIGKILL);
    r.pause_every = 0;
    run_until(&ks.closed);
    run_until(&kr.closed);
    run_until(&ku.closed);
    submitted_later = s.done_calls;
    tap(s.done_calls == 1 && s.lost && !s.ok, "gone: the submission ends once, as lost");
    tap(r.failed == 1 && r.lost && r.ends == 0, "gone: the read fails once, as lost");
    tap(updates == 1, "gone: the request's callback ran once");
    tap(ks.closed == 1 && kr.closed == 1 && ku.closed == 1,
        "gone: each connection's closed callback ran once");
    tap(submitted_later == s.done_calls, "gone: nothing is called after closed");
    rd_done(&r);
    /* A new connection to no store ends in closed alone. */
    {
        struct conn k;

        memset(&k, 0, sizeof(k));
        k.c = sc_connect(&sc, "submit", &conn_ops, &k);
        run_until(&k.closed);
        tap(k.closed == 1 && !k.ready && strstr(k.why, "connect"),
            "gone: connecting to no store reports why");
        rd_init(&r, &k);
        k.c = sc_open_body(&sc, big_qid, &rd_ops, &r);
        run_until(&r.fin);
        tap(r.failed == 1 && r.lost && r.ends == 0,
            "gone: sc_open_body with no store fails once, as lost");
        rd_done(&r); /* lost: the connection is gone already */
    }
}

int main(int argc, char **argv)
{
    const char *sock = NULL;
    pid_t store_pid = 0;
    int opt;

    while ((opt = getopt(argc, argv, "s:p:")) != -1) {
        if (opt == 's')
            sock = optarg;
        else if (opt == 'p')
            store_pid = (pid_t)atoi(optarg);
    }
    if (!sock || store_pid <= 0) {
        fprintf(stderr, "usage: store-client -s SOCKET -p STORE_PID\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    snprintf(sc.path, sizeof(sc.path), "%s", sock);
    snprintf(sc.program, sizeof(sc.program), "store-client-test");
    snprintf(sc.role, sizeof(sc.role), "test");
    sc.loop = loop;
    test_submit_backpressure();
    test_read_pause();
    test_commit_refused();
    test_abort();
    test_requests();
    test_store_gone(store_pid);
    uv_run(loop, UV_RUN_DEFAULT); /* the closes */
    tap(uv_loop_close(loop) == 0, "every handle is closed at the end");
    printf("1..%d\n", tap_num);
    return tap_failed ? 1 : 0;
}
