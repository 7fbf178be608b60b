/* test_ipc_server.c - unit tests of the IPC server: stale and live sockets, hellos, bad frames, capabilities, pause, back-pressure, a stop that drains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"
#include "ipc_link.h"
#include "ipc_server.h"

#define T_TYPE_PING IPC_STATS    /* "x": answered with OK */
#define T_TYPE_BIG IPC_REQUEUE   /* "x": answered with a big CHUNK */
#define T_TYPE_PAUSE IPC_RELEASE /* "x": answered with OK, then the server pauses */
#define T_TYPE_OTHER IPC_HOLD    /* "y" */
#define T_TYPE_HELD IPC_DELETE   /* "x": held unanswered (referenced) until the test answers */
#define T_BIG_LEN (60u * 1024)

/* The test server: its loop, its socket, what the handlers saw. */
struct t_server {
    uv_loop_t loop;
    struct ipc_server *srv;
    char dir[64], path[108];
    struct ipc_server_conn *last; /* the connection accepted last */
    struct ipc_server_conn *held; /* the one with a T_TYPE_HELD request in flight */
    uint32_t held_id;
    int drained;
    struct sg_buf in; /* what the test's client read and did not use yet */
    int handled, released;
};

static void t_dispatch(struct ipc_server_conn *c, const struct ipc_server_cmd *row,
                       struct ipc_reader *r, void *arg);

static const struct ipc_server_cmd t_table[] = {
    {T_TYPE_PING, "x"},  {T_TYPE_BIG, "x"},  {T_TYPE_PAUSE, "x"},
    {T_TYPE_OTHER, "y"}, {T_TYPE_HELD, "x"},
};

static void t_accepted(struct ipc_server_conn *c, void *arg)
{
    struct t_server *t = arg;

    t->last = c;
    ipc_server_conn_set_data(c, t);
}

static void t_release(struct ipc_server_conn *c, void *arg)
{
    struct t_server *t = arg;

    assert_ptr_equal(ipc_server_conn_data(c), t);
    t->released++;
    if (t->last == c)
        t->last = NULL;
}

static const struct ipc_server_ops t_ops = {
    .accepted = t_accepted,
    .dispatch = t_dispatch,
    .release = t_release,
};

static void t_dispatch(struct ipc_server_conn *c, const struct ipc_server_cmd *row,
                       struct ipc_reader *r, void *arg)
{
    struct t_server *t = arg;
    struct ipc_ok ok = {.count = (uint64_t)t->handled};
    static uint8_t big[T_BIG_LEN];

    t->handled++;
    if (row->type == T_TYPE_HELD) {
        ipc_server_conn_ref(c); /* in flight: the daemon's work holds the connection */
        t->held = c;
        t->held_id = r->request_id;
        return;
    }
    if (row->type == T_TYPE_BIG) {
        struct ipc_chunk ch = {big, sizeof(big)};
        struct sg_buf b = {0};

        ipc_encode_chunk(&b, r->request_id, &ch);
        ipc_server_conn_send(c, &b, NULL, NULL);
        return;
    }
    ipc_encode_ok(ipc_server_conn_out(c), r->request_id, &ok);
    ipc_server_conn_flush(c);
    if (row->type == T_TYPE_PAUSE)
        ipc_server_conn_pause(c, 1);
}

static struct t_server *t_start(size_t write_high)
{
    struct t_server *t = calloc(1, sizeof(*t));
    struct ipc_server_config cfg = {
        .service = "test server",
        .program = "test-server",
        .role = "test",
        .caps_offered = "x,y",
        IPC_SERVER_TABLE(t_table),
        .backlog = 8,
        .mode = 0600,
        .write_high = write_high,
    };

    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/test_ipc_server.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/s.sock", t->dir);
    assert_int_equal(uv_loop_init(&t->loop), 0);
    assert_non_null(t->srv = ipc_server_new(&t->loop, &cfg, &t_ops, t));
    return t;
}

static void t_listen(struct t_server *t)
{
    char err[256];

    assert_int_equal(ipc_server_listen(t->srv, t->path, err, sizeof(err)), 0);
}

/* Started and listening. */
static struct t_server *t_up(size_t write_high)
{
    struct t_server *t = t_start(write_high);

    t_listen(t);
    return t;
}

static void t_stop(struct t_server *t)
{
    if (!t->drained)
        ipc_server_close(t->srv);
    sg_buf_free(&t->in);
    assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&t->loop), 0);
    assert_int_equal(access(t->path, F_OK), -1); /* closing removed the socket file */
    unlink(t->path);
    rmdir(t->dir);
    free(t);
}

/* A plain socket bound at path; listening or (closed at once) left behind as a dead file. */
static int plain_socket(const char *path, int listening)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (listening)
        assert_int_equal(listen(fd, 1), 0);
    else {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int t_connect(struct t_server *t)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void t_send(int fd, struct sg_buf *b)
{
    assert_false(b->failed);
    assert_int_equal(send(fd, b->data, b->len, 0), (ssize_t)b->len);
    sg_buf_free(b);
}

/* Run the loop and read until a whole frame is in `in` (1, r on it; consume
 * it with sg_buf_consume(in, *len)), the server closed (0), or 3 s passed (-1). */
static int t_frame(struct t_server *t, int fd, struct ipc_reader *r, size_t *len)
{
    struct sg_buf *in = &t->in;
    time_t until = time(NULL) + 3;

    while (time(NULL) <= until) {
        const char *err = NULL;
        ssize_t n;

        *len = 0;
        if (in->len && ipc_frame_next(in->data, in->len, len, r, &err) == 1)
            return 1;
        uv_run(&t->loop, UV_RUN_NOWAIT);
        assert_int_equal(sg_buf_reserve(in, 65536), 0);
        n = recv(fd, in->data + in->len, 65536, MSG_DONTWAIT);
        if (n == 0)
            return 0;
        if (n > 0)
            in->len += (size_t)n;
        else
            usleep(1000);
    }
    return -1;
}

/* The next frame must be of this type; for an error, its code. */
static void t_expect(struct t_server *t, int fd, uint16_t type, uint32_t code)
{
    struct ipc_reader r;
    struct ipc_error e;
    size_t len;

    assert_int_equal(t_frame(t, fd, &r, &len), 1);
    assert_int_equal(r.type, type);
    if (type == IPC_ERROR) {
        assert_int_equal(ipc_decode_error(&r, &e), 0);
        assert_int_equal(e.code, code);
    }
    sg_buf_consume(&t->in, len);
}

static void t_expect_closed(struct t_server *t, int fd)
{
    struct ipc_reader r;
    size_t len;

    assert_int_equal(t_frame(t, fd, &r, &len), 0);
}

/* An IPC_ERROR with this code, then the server closes: the client closes too. */
static void t_expect_refused(struct t_server *t, int fd, uint32_t code)
{
    t_expect(t, fd, IPC_ERROR, code);
    t_expect_closed(t, fd);
    close(fd);
    sg_buf_reset(&t->in);
}

static void t_hello(int fd, unsigned major, const char *caps)
{
    struct ipc_hello h = {.major = major, .minor = 0};
    struct sg_buf b = {0};

    snprintf(h.program, sizeof(h.program), "test-client");
    snprintf(h.role, sizeof(h.role), "client");
    snprintf(h.caps_needed, sizeof(h.caps_needed), "%s", caps);
    ipc_encode_hello(&b, 0, &h);
    t_send(fd, &b);
}

/* Connected, both hellos through, the client asked for caps. */
static int t_session(struct t_server *t, const char *caps)
{
    int fd = t_connect(t);

    t_expect(t, fd, IPC_HELLO, 0);
    t_hello(fd, IPC_PROTO_MAJOR, caps);
    return fd;
}

static void t_request(int fd, uint16_t type, uint32_t id)
{
    struct sg_buf b = {0};
    struct ipc_qid_msg q = {.qid = "001J11E1BRQJG"};

    if (type == IPC_STATS || type == IPC_SUBSCRIBE)
        ipc_encode_empty(&b, type, id);
    else
        ipc_encode_qid_msg(&b, type, id, &q);
    t_send(fd, &b);
}

/* One request, and the answer must be of this type. */
static void t_ask(struct t_server *t, int fd, uint16_t type, uint32_t id, uint16_t answer)
{
    t_request(fd, type, id);
    t_expect(t, fd, answer, 0);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_stale_socket_removed(void **state)
{
    struct t_server *t = t_start(0);
    struct stat st;
    int fd;

    (void)state;
    plain_socket(t->path, 0);
    assert_int_equal(stat(t->path, &st), 0); /* a dead server's socket file */
    t_listen(t);
    assert_int_equal(stat(t->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    fd = t_session(t, "x");
    t_ask(t, fd, T_TYPE_PING, 7, IPC_OK);
    close(fd);
    t_stop(t);
}

static void test_live_socket_refused(void **state)
{
    struct t_server *t = t_start(0);
    struct stat st;
    char err[256] = "";
    int live;

    (void)state;
    live = plain_socket(t->path, 1);
    assert_int_equal(ipc_server_listen(t->srv, t->path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "a test server is already answering on this socket"));
    assert_int_equal(stat(t->path, &st), 0); /* the live server's file is left alone */
    close(live);
    unlink(t->path);
    t_stop(t);
}

static void test_bad_hello_refused(void **state)
{
    static const struct {
        unsigned major;
        const char *caps;
        uint32_t code;
    } bad[] = {
        {IPC_PROTO_MAJOR + 98, "x", IPC_ERR_VERSION}, /* another major version */
        {IPC_PROTO_MAJOR, "x,z", IPC_ERR_CAPS},       /* a capability the server does not offer */
    };
    struct t_server *t = t_up(0);
    int fd;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fd = t_connect(t);
        t_expect(t, fd, IPC_HELLO, 0);
        t_hello(fd, bad[i].major, bad[i].caps);
        t_expect_refused(t, fd, bad[i].code);
    }
    fd = t_connect(t); /* a request before the hello */
    t_expect(t, fd, IPC_HELLO, 0);
    t_request(fd, T_TYPE_PING, 1);
    t_expect_refused(t, fd, IPC_ERR_PROTO);
    assert_int_equal(t->handled, 0);
    t_stop(t);
}

static void test_bad_frames_close(void **state)
{
    static const uint8_t oversized[] = {0xff, 0xff, 0xff, 0x7f, 0, 1, 0, 0, 0, 0};
    static const uint8_t garbage[] = {0, 0, 0, 2, 'h', 'i'};
    const uint8_t *bad[] = {oversized, garbage};
    size_t badlen[] = {sizeof(oversized), sizeof(garbage)};
    struct t_server *t = t_up(0);

    (void)state;
    for (int i = 0; i < 2; i++) {
        int fd = t_session(t, "x");

        assert_int_equal(send(fd, bad[i], badlen[i], 0), (ssize_t)badlen[i]);
        t_expect_refused(t, fd, IPC_ERR_PROTO);
    }
    assert_int_equal(ipc_server_count(t->srv), 0);
    t_stop(t);
}

static void test_capabilities(void **state)
{
    struct t_server *t = t_up(0);
    int fd;

    (void)state;
    fd = t_session(t, "x"); /* offered by the server but not asked for */
    t_ask(t, fd, T_TYPE_PING, 1, IPC_OK);
    t_request(fd, T_TYPE_OTHER, 2);
    t_expect_refused(t, fd, IPC_ERR_CAPS);
    fd = t_session(t, "x,y"); /* asked for: served */
    t_ask(t, fd, T_TYPE_OTHER, 3, IPC_OK);
    t_request(fd, IPC_SUBSCRIBE, 4); /* in no row */
    t_expect_refused(t, fd, IPC_ERR_PROTO);
    assert_int_equal(t->handled, 2);
    t_stop(t);
}

static void test_pause_resume(void **state)
{
    struct t_server *t = t_up(0);
    int fd;

    (void)state;
    fd = t_session(t, "x");
    t_request(fd, T_TYPE_PAUSE, 1);
    t_ask(t, fd, T_TYPE_PING, 2, IPC_OK);
    for (int i = 0; i < 50; i++) {
        uv_run(&t->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_int_equal(t->handled, 1); /* the second waits */
    ipc_server_conn_pause(t->last, 0);
    t_expect(t, fd, IPC_OK, 0);
    assert_int_equal(t->handled, 2);
    close(fd);
    t_stop(t);
}

/* A client that sends requests and reads no answer: the server stops reading
 * once the answers in flight pass write_high, and goes on when they drain. */
static void test_back_pressure(void **state)
{
    struct t_server *t = t_up(256 * 1024);
    const int n = 100;
    int fd, stalled;

    (void)state;
    fd = t_session(t, "x");
    for (int i = 0; i < n; i++)
        t_request(fd, T_TYPE_BIG, (uint32_t)i + 1);
    for (int i = 0; i < 200; i++) {
        uv_run(&t->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    stalled = t->handled;
    assert_true(stalled > 0);
    assert_true(stalled < n);
    assert_true(ipc_server_conn_pending(t->last) >= 256 * 1024);
    for (int i = 0; i < n; i++)
        t_expect(t, fd, IPC_CHUNK, 0);
    assert_int_equal(t->handled, n);
    close(fd);
    t_stop(t);
}

static void t_drained(struct ipc_server *s, void *arg)
{
    struct t_server *t = arg;

    assert_ptr_equal(s, t->srv);
    t->drained++;
}

/* The held request's work ends: it answers, if its connection is still there, and lets go. */
static void t_answer_held(struct t_server *t)
{
    struct ipc_ok ok = {.count = 42};

    if (ipc_server_conn_alive(t->held)) {
        ipc_encode_ok(ipc_server_conn_out(t->held), t->held_id, &ok);
        ipc_server_conn_flush(t->held);
    }
    ipc_server_conn_unref(t->held);
    t->held = NULL;
}

/* A stop takes nothing new (no connection, no further request) and answers what it took before
 * it closes: a commit in flight at a stop of the store was committed, and a client told nothing
 * would send the message again. */
static void test_drain_answers_in_flight(void **state)
{
    struct t_server *t = t_up(0);
    struct ipc_reader r;
    struct ipc_ok ok;
    size_t len;
    int busy = t_session(t, "x"), idle = t_session(t, "x");

    (void)state;
    t_ask(t, idle, T_TYPE_PING, 1, IPC_OK);
    t_request(busy, T_TYPE_HELD, 2);
    while (!t->held)
        uv_run(&t->loop, UV_RUN_NOWAIT);
    t_request(busy, T_TYPE_PING, 3); /* sent before the stop, not yet handled */
    ipc_server_drain(t->srv, 5000, t_drained, t);
    assert_int_equal(access(t->path, F_OK), -1); /* nobody new gets in */
    t_expect_closed(t, idle);                    /* the idle one is closed at once */
    assert_int_equal(t->drained, 0);             /* the busy one is kept */
    assert_int_equal(ipc_server_busy(t->srv), 1);
    t_answer_held(t);
    assert_int_equal(t_frame(t, busy, &r, &len), 1); /* its answer, then the close */
    assert_int_equal(r.type, IPC_OK);
    assert_int_equal(r.request_id, 2);
    assert_int_equal(ipc_decode_ok(&r, &ok), 0);
    assert_int_equal(ok.count, 42);
    sg_buf_consume(&t->in, len);
    t_expect_closed(t, busy);
    assert_int_equal(t->drained, 1);
    assert_int_equal(t->handled, 2); /* PING 1, HELD 2; PING 3 never */
    close(busy);
    close(idle);
    t_stop(t);
}

/* A request that does not end in the grace is cut off; the work that ends later finds its
 * connection gone and lets go of it. */
static void test_drain_grace_runs_out(void **state)
{
    struct t_server *t = t_up(0);
    int busy = t_session(t, "x");

    (void)state;
    t_request(busy, T_TYPE_HELD, 1);
    while (!t->held)
        uv_run(&t->loop, UV_RUN_NOWAIT);
    ipc_server_drain(t->srv, 50, t_drained, t);
    t_expect_closed(t, busy);
    assert_int_equal(t->drained, 1);
    t_answer_held(t);
    close(busy);
    t_stop(t);
}

/* A kept link logs one line per change of its peer, none per retry. */
static void test_link_down_news(void **state)
{
    (void)state;
    assert_true(ipc_link_down_news(1, 0, "", "connection closed by the peer")); /* went down */
    assert_true(ipc_link_down_news(0, 0, "", "cannot connect: no such file"));  /* first try */
    /* still down, the peer merely not there: no news */
    assert_false(ipc_link_down_news(0, 1, "connection closed by the peer",
                                    "cannot connect: connection refused"));
    assert_false(ipc_link_down_news(0, 1, "cannot connect: a", "cannot connect: b"));
    /* still down, but the peer answers differently (a refusal): news, once */
    assert_true(ipc_link_down_news(0, 1, "cannot connect: a", "speaks protocol 2.1"));
    assert_false(ipc_link_down_news(0, 1, "speaks protocol 2.1", "speaks protocol 2.1"));
    /* sites that are not master, each naming the master it knows: no news while it stays down */
    assert_false(ipc_link_down_news(0, 1, "not master: ...; the master is not known yet",
                                    "not master: ...; the master is c at /run/c.sock"));
    assert_true(ipc_link_down_news(1, 1, "not master: a", "not master: a")); /* it was up */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_socket_removed),
        cmocka_unit_test(test_live_socket_refused),
        cmocka_unit_test(test_bad_hello_refused),
        cmocka_unit_test(test_bad_frames_close),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_back_pressure),
        cmocka_unit_test(test_link_down_news),
        cmocka_unit_test(test_drain_answers_in_flight),
        cmocka_unit_test(test_drain_grace_runs_out),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
