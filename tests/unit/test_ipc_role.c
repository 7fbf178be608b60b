/* test_ipc_role.c - unit tests of IPC_ROLE with real IPC servers on one loop: a kept-up link and the blocking client go to the master a site names, and again when the master changes; a client of minor 7 gets no role message. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"
#include "ipc_client.h"
#include "ipc_link.h"
#include "ipc_server.h"
#include "store_client.h"

#define T_CAPS "submit,admin"         /* what a master offers (a replica: admin) */
#define T_TYPE_PING IPC_STATS         /* "submit": answered with OK */
#define T_TYPE_STATUS IPC_REPL_STATUS /* "admin": answered with OK */

struct t_world;

/* One site of the group: its server, what it saw. */
struct t_site {
    struct t_world *w;
    struct ipc_server *srv; /* NULL once closed */
    char name[8], path[108];
    int accepted, ready, handled;
};

struct t_world {
    uv_loop_t loop;
    uv_timer_t deadline;
    int timed_out, drained;
    char dir[64];
    struct t_site site[4]; /* a, b, c, d */
    int ups, downs;
    char why[IPC_REPLY_MAX + 256]; /* the link's last down */
};

static const struct ipc_server_cmd t_table[] = {
    {T_TYPE_PING, "submit"},
    {T_TYPE_STATUS, "admin"},
};

static void t_accepted(struct ipc_server_conn *c, void *arg)
{
    struct t_site *s = arg;

    s->accepted++;
    ipc_server_conn_set_data(c, s);
}

static void t_ready(struct ipc_server_conn *c, void *arg)
{
    struct t_site *s = arg;

    (void)c;
    s->ready++;
}

static void t_dispatch(struct ipc_server_conn *c, const struct ipc_server_cmd *row,
                       struct ipc_reader *r, void *arg)
{
    struct t_site *s = arg;
    struct ipc_ok ok = {.count = (uint64_t)row->type};

    s->handled++;
    ipc_encode_ok(ipc_server_conn_out(c), r->request_id, &ok);
    ipc_server_conn_flush(c);
}

static const struct ipc_server_ops t_ops = {
    .accepted = t_accepted,
    .ready = t_ready,
    .dispatch = t_dispatch,
};

static void t_deadline_cb(uv_timer_t *t)
{
    struct t_world *w = t->data;

    w->timed_out = 1;
}

/* Four sites listening on one loop, none with a role yet. */
static struct t_world *t_world_new(void)
{
    struct t_world *w = calloc(1, sizeof(*w));
    struct ipc_server_config cfg = {
        .service = "test store",
        .program = "spoolgate-store",
        .role = "store",
        .caps_offered = T_CAPS,
        IPC_SERVER_TABLE(t_table),
        .backlog = 8,
        .mode = 0600,
    };
    char err[256];

    assert_non_null(w);
    snprintf(w->dir, sizeof(w->dir), "/tmp/test_ipc_role.XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    assert_int_equal(uv_loop_init(&w->loop), 0);
    uv_timer_init(&w->loop, &w->deadline);
    w->deadline.data = w;
    for (int i = 0; i < 4; i++) {
        struct t_site *s = &w->site[i];

        s->w = w;
        snprintf(s->name, sizeof(s->name), "%c", 'a' + i);
        snprintf(s->path, sizeof(s->path), "%s/%s.sock", w->dir, s->name);
        assert_non_null(s->srv = ipc_server_new(&w->loop, &cfg, &t_ops, s));
        assert_int_equal(ipc_server_listen(s->srv, s->path, err, sizeof(err)), 0);
    }
    return w;
}

static void t_world_free(struct t_world *w)
{
    for (int i = 0; i < 4; i++)
        if (w->site[i].srv)
            ipc_server_close(w->site[i].srv);
    uv_close((uv_handle_t *)&w->deadline, NULL);
    assert_int_equal(uv_run(&w->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&w->loop), 0);
    rmdir(w->dir);
    free(w);
}

/* Run the loop until cond holds; fails after 5 s. */
#define RUN_UNTIL(w, cond)                                                         \
    do {                                                                           \
        (w)->timed_out = 0;                                                        \
        uv_timer_start(&(w)->deadline, t_deadline_cb, 5000, 0);                    \
        while (!(cond) && !(w)->timed_out)                                         \
            uv_run(&(w)->loop, UV_RUN_ONCE);                                       \
        uv_timer_stop(&(w)->deadline);                                             \
        if (!(cond))                                                               \
            fail_msg("timed out waiting for " #cond " (last down: %s)", (w)->why); \
    } while (0)

/* Site s is now role (IPC_ROLE_MASTER: offering everything, with generation), and the master
 * it knows is master (NULL: none known). */
static void t_role(struct t_site *s, const char *role, const struct t_site *master,
                   uint64_t generation)
{
    struct ipc_role ro;
    int is_master = strcmp(role, IPC_ROLE_MASTER) == 0;

    memset(&ro, 0, sizeof(ro));
    snprintf(ro.role, sizeof(ro.role), "%s", role);
    snprintf(ro.site, sizeof(ro.site), "%s", s->name);
    if (master) {
        snprintf(ro.master, sizeof(ro.master), "%s", master->name);
        snprintf(ro.master_addr, sizeof(ro.master_addr), "%s", master->path);
    }
    ro.generation = is_master ? generation : 0;
    ipc_server_set_offer(s->srv, is_master ? "store" : IPC_ROLE_REPLICA,
                         is_master ? T_CAPS : IPC_CAP_ADMIN);
    ipc_server_set_generation(s->srv, ro.generation);
    ipc_server_set_role(s->srv, &ro);
}

/* The group: b master, a, c and d replicas that name it. */
static struct t_world *t_group(void)
{
    struct t_world *w = t_world_new();

    t_role(&w->site[0], "replica", &w->site[1], 0);
    t_role(&w->site[2], "replica", &w->site[1], 0);
    t_role(&w->site[3], "replica", &w->site[1], 0);
    t_role(&w->site[1], IPC_ROLE_MASTER, &w->site[1], 1);
    return w;
}

static void t_link_up(struct ipc_link *l, void *arg)
{
    struct t_world *w = arg;

    (void)l;
    w->ups++;
}

static void t_link_down(struct ipc_link *l, const char *why, void *arg)
{
    struct t_world *w = arg;

    (void)l;
    w->downs++;
    snprintf(w->why, sizeof(w->why), "%s", why);
}

static const struct ipc_link_ops t_link_ops = {.up = t_link_up, .down = t_link_down};

static void t_drained(struct ipc_server *s, void *arg)
{
    struct t_world *w = arg;

    (void)s;
    w->drained++;
}

/* The role the link's connection was told last. */
static const char *t_link_role(const struct ipc_link *l)
{
    const struct ipc_role *ro = ipc_link_conn(l) ? ipc_uv_role(ipc_link_conn(l)) : NULL;

    return ro ? ro->role : "";
}

/* ---- a kept-up link ------------------------------------------------------------ */

/* Listed a, c, b, d: a names b, so the link goes there next and c is never asked; b steps down
 * naming a, which becomes master: the link goes to a, and neither c nor d (next after b in the
 * list) is ever asked. */
static void test_link_follows_the_master(void **state)
{
    struct t_world *w = t_group();
    struct t_site *a = &w->site[0], *b = &w->site[1], *c = &w->site[2], *d = &w->site[3];
    struct ipc_link *l;
    char want[300];

    (void)state;
    /* a long retry: only following the master (at once) brings the link up in time */
    l = ipc_link_start(&w->loop, "mail store", a->path, "test-client", "smtpd", "submit", 60000,
                       &t_link_ops, w);
    assert_non_null(l);
    assert_int_equal(ipc_link_add_path(l, c->path), 0);
    assert_int_equal(ipc_link_add_path(l, b->path), 0);
    assert_int_equal(ipc_link_add_path(l, d->path), 0);
    RUN_UNTIL(w, w->ups == 1);
    assert_int_equal(a->accepted, 1);
    assert_int_equal(a->ready, 0); /* refused at the hello */
    assert_int_equal(b->accepted, 1);
    assert_int_equal(b->ready, 1);
    assert_int_equal(c->accepted, 0);
    assert_int_equal(w->downs, 1);
    snprintf(want, sizeof(want), "the master is b at %s", b->path);
    assert_true(strncmp(w->why, "not master", 10) == 0);
    assert_non_null(strstr(w->why, want));
    assert_string_equal(t_link_role(l), IPC_ROLE_MASTER);

    /* the change: b steps down and tells its clients, a is elected, b drains */
    t_role(b, "demoted", a, 0);
    RUN_UNTIL(w, strcmp(t_link_role(l), "demoted") == 0);
    assert_true(ipc_link_up(l)); /* told, not dropped: b closes it when it drains */
    assert_string_equal(ipc_uv_follow(ipc_link_conn(l)), a->path);
    t_role(a, IPC_ROLE_MASTER, a, 2);
    ipc_server_drain(b->srv, 1000, t_drained, w);
    b->srv = NULL;
    RUN_UNTIL(w, w->ups == 2);
    assert_int_equal(w->drained, 1);
    assert_int_equal(a->accepted, 2);
    assert_int_equal(a->ready, 1);
    assert_int_equal(b->accepted, 1);
    assert_int_equal(c->accepted, 0);
    assert_int_equal(d->accepted, 0);
    snprintf(want, sizeof(want), "it stepped down (demoted), the master is %s", a->path);
    assert_non_null(strstr(w->why, want));
    assert_string_equal(t_link_role(l), IPC_ROLE_MASTER);
    assert_null(ipc_uv_follow(ipc_link_conn(l)));
    ipc_link_stop(l);
    t_world_free(w);
}

/* ---- the blocking client, in a child while the loop serves ---------------------- */

struct t_sync_result {
    int rc, has_role;
    char role[IPC_NAME_MAX + 1];
    char follow[IPC_STORE_ADDR_MAX + 1];
    char error[IPC_REPLY_MAX + 64];
};

/* The blocking connect (sc_sync_connect when list) to where, in a child; the loop runs here
 * meanwhile. */
static void t_sync(struct t_world *w, const char *where, int list, struct t_sync_result *res)
{
    int p[2], status = 0;
    size_t got = 0;
    time_t until = time(NULL) + 10;
    pid_t pid;

    assert_int_equal(pipe(p), 0);
    if ((pid = fork()) == 0) {
        struct ipc_client cl;
        struct t_sync_result out;

        memset(&out, 0, sizeof(out));
        close(p[0]);
        out.rc = list ? sc_sync_connect(&cl, where, "test-tool", "admin", "submit")
                      : ipc_client_connect(&cl, where, "test-tool", "admin", "submit");
        out.has_role = cl.has_role;
        snprintf(out.role, sizeof(out.role), "%s", cl.role.role);
        snprintf(out.follow, sizeof(out.follow), "%s", cl.follow);
        snprintf(out.error, sizeof(out.error), "%s", cl.error);
        if (out.rc == 0)
            ipc_client_close(&cl);
        _exit(write(p[1], &out, sizeof(out)) == (ssize_t)sizeof(out) ? 0 : 1);
    }
    assert_true(pid > 0);
    close(p[1]);
    while (got < sizeof(*res) && time(NULL) <= until) {
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        ssize_t n;

        uv_run(&w->loop, UV_RUN_NOWAIT);
        if (poll(&pfd, 1, 1) == 1) {
            if ((n = read(p[0], (char *)res + got, sizeof(*res) - got)) <= 0)
                break;
            got += (size_t)n;
        }
    }
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(got, sizeof(*res));
    for (int i = 0; i < 20; i++) /* the server sees the client go */
        uv_run(&w->loop, UV_RUN_NOWAIT);
}

static void test_sync_client_follows_the_master(void **state)
{
    struct t_world *w = t_group();
    struct t_site *a = &w->site[0], *b = &w->site[1], *c = &w->site[2];
    struct t_sync_result res;
    char list[400];

    (void)state;
    t_sync(w, a->path, 0, &res);
    assert_int_equal(res.rc, -1);
    assert_non_null(strstr(res.error, "not master"));
    assert_non_null(strstr(res.error, b->path));
    assert_string_equal(res.follow, b->path);
    assert_true(res.has_role);
    assert_string_equal(res.role, "replica");
    assert_int_equal(a->accepted, 1);
    assert_int_equal(a->ready, 0);
    /* the list a c b: a names b, which is tried next; c never */
    snprintf(list, sizeof(list), "%s %s unix:%s", a->path, c->path, b->path);
    t_sync(w, list, 1, &res);
    if (res.rc != 0)
        fail_msg("sc_sync_connect: %s", res.error);
    assert_string_equal(res.role, IPC_ROLE_MASTER);
    assert_string_equal(res.follow, "");
    assert_int_equal(a->accepted, 2);
    assert_int_equal(b->ready, 1);
    assert_int_equal(c->accepted, 0);
    t_world_free(w);
}

/* ---- raw clients: which minor gets the role ------------------------------------- */

struct t_raw {
    int fd;
    struct sg_buf in;
};

static void t_raw_connect(struct t_raw *p, const struct t_site *s)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
    p->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(p->fd >= 0);
    assert_int_equal(connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    sg_buf_init(&p->in);
}

static void t_raw_send(struct t_raw *p, struct sg_buf *b)
{
    assert_false(b->failed);
    assert_int_equal(send(p->fd, b->data, b->len, MSG_NOSIGNAL), (ssize_t)b->len);
    sg_buf_free(b);
}

/* The next frame, of this type and request id, decoded into m by dec (if given); the loop
 * runs while waiting (3 s at most). */
static void t_raw_expect(struct t_world *w, struct t_raw *p, uint16_t type, uint32_t id,
                         int (*dec)(struct ipc_reader *, void *), void *m)
{
    time_t until = time(NULL) + 3;
    struct ipc_reader r;
    const char *err = NULL;
    size_t len = 0;

    while (!(p->in.len && ipc_frame_next(p->in.data, p->in.len, &len, &r, &err) == 1)) {
        ssize_t n;

        if (time(NULL) > until)
            fail_msg("no frame (waiting for %s)", ipc_type_name(type));
        uv_run(&w->loop, UV_RUN_NOWAIT);
        assert_int_equal(sg_buf_reserve(&p->in, 65536), 0);
        n = recv(p->fd, p->in.data + p->in.len, 65536, MSG_DONTWAIT);
        if (n == 0)
            fail_msg("closed by the server (waiting for %s)", ipc_type_name(type));
        if (n > 0)
            p->in.len += (size_t)n;
        else
            usleep(1000);
        len = 0;
    }
    if (r.type != type || r.request_id != id)
        fail_msg("got %s id %u, expected %s id %u", ipc_type_name(r.type), r.request_id,
                 ipc_type_name(type), id);
    if (dec && dec(&r, m) != 0)
        fail_msg("decode %s: %s", ipc_type_name(type), r.error);
    sg_buf_consume(&p->in, len);
}

static int t_dec_hello(struct ipc_reader *r, void *m)
{
    return ipc_decode_hello(r, m);
}

static int t_dec_role(struct ipc_reader *r, void *m)
{
    return ipc_decode_role(r, m);
}

/* Connected, the server's hello read, ours (of this minor) sent. */
static void t_raw_session(struct t_world *w, struct t_raw *p, const struct t_site *s,
                          unsigned minor)
{
    struct ipc_hello h = {.major = IPC_PROTO_MAJOR, .minor = minor}, peer;
    struct sg_buf b = {0};

    t_raw_connect(p, s);
    t_raw_expect(w, p, IPC_HELLO, 0, t_dec_hello, &peer);
    assert_string_equal(peer.caps_offered, T_CAPS "," IPC_CAP_ROLE);
    snprintf(h.program, sizeof(h.program), "test-client");
    snprintf(h.role, sizeof(h.role), "client");
    snprintf(h.caps_needed, sizeof(h.caps_needed), "submit");
    ipc_encode_hello(&b, 0, &h);
    t_raw_send(p, &b);
}

static void t_raw_ping(struct t_world *w, struct t_raw *p, uint32_t id)
{
    struct sg_buf b = {0};

    ipc_encode_empty(&b, T_TYPE_PING, id);
    t_raw_send(p, &b);
    t_raw_expect(w, p, IPC_OK, id, NULL, NULL);
}

/* A client of minor 7 gets no role message, after its hello or when the role changes; one of
 * minor 8 gets it first, and again on the change. */
static void test_old_client_gets_no_role(void **state)
{
    struct t_world *w = t_group();
    struct t_site *a = &w->site[0], *b = &w->site[1];
    struct t_raw old, cur;
    struct ipc_role ro;

    (void)state;
    t_raw_session(w, &old, b, IPC_MINOR_ROLE - 1);
    t_raw_ping(w, &old, 5); /* the next frame is the answer */
    t_raw_session(w, &cur, b, IPC_MINOR_ROLE);
    t_raw_expect(w, &cur, IPC_ROLE, 0, t_dec_role, &ro);
    assert_string_equal(ro.role, IPC_ROLE_MASTER);
    assert_string_equal(ro.site, "b");
    assert_string_equal(ro.master_addr, b->path);
    assert_true(ro.generation == 1);
    t_raw_ping(w, &cur, 6);
    t_role(b, "demoted", a, 0);
    t_raw_expect(w, &cur, IPC_ROLE, 0, t_dec_role, &ro);
    assert_string_equal(ro.role, "demoted");
    assert_string_equal(ro.master, "a");
    assert_string_equal(ro.master_addr, a->path);
    t_raw_ping(w, &old, 7);
    t_raw_ping(w, &cur, 8);
    assert_int_equal(b->handled, 4);
    close(old.fd);
    close(cur.fd);
    sg_buf_free(&old.in);
    sg_buf_free(&cur.in);
    t_world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_follows_the_master),
        cmocka_unit_test(test_sync_client_follows_the_master),
        cmocka_unit_test(test_old_client_gets_no_role),
    };

    signal(SIGPIPE, SIG_IGN); /* a test that fails reports it, not killed by a write */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
