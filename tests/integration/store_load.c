/* store_load.c - test client of spoolgate-store: concurrent submit, byte-exact verify, malformed frames. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "store_client.h"
#include "qid.h"

#define SEND_CHUNK 65536
#define TIMEOUT_MS 120000

static const char *opt_socket;
static const char *opt_ack;
static int opt_clients = 8, opt_total = 100;
static long opt_min = 1024, opt_max = 1048576;
static unsigned long opt_seed = 1;
static int opt_expect_generation;

static pthread_mutex_t ack_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *ack_file;
static int next_message, errors;
static unsigned long long bytes_sent, acked;

/* ---- deterministic message content ------------------------------------------ */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* Size drawn log-uniformly from [min, max] (mail sizes are skewed small). */
static size_t body_size(const char *sender)
{
    uint64_t s = hash_text(sender) ^ 0x5151;
    double u = (double)(splitmix(&s) >> 11) / (double)(1ull << 53);

    return (size_t)exp(log((double)opt_min) + u * (log((double)opt_max) - log((double)opt_min)));
}

/* Body: header lines then CRLF text lines of at most 78 characters. */
static uint8_t *make_body(const char *sender, size_t size)
{
    uint8_t *b = malloc(size + 1);
    uint64_t s = hash_text(sender);
    size_t off = 0, col = 0;
    int n;

    if (!b)
        return NULL;
    n = snprintf((char *)b, size + 1, "From: <%s>\r\nSubject: load\r\n\r\n", sender);
    off = (size_t)n < size ? (size_t)n : size;
    while (off < size) {
        if (col == 76 || off + 2 >= size) {
            int room = off + 1 < size;
            b[off++] = room ? '\r' : 'x';
            if (room)
                b[off++] = '\n';
            col = 0;
            continue;
        }
        b[off++] = (uint8_t)('a' + splitmix(&s) % 26);
        col++;
    }
    return b;
}

/* ---- submit ------------------------------------------------------------------ */

static int submit_one(struct ipc_client *c, int client, int seq)
{
    struct ipc_submit_begin beg = {0};
    struct ipc_submit_rcpt rc[3];
    struct sc_sync_submit sub;
    struct ipc_submitted done;
    size_t size, off;
    uint8_t *body;
    int nrcpt, ok = 0;

    /* The sender names the intended size, so a verifier can tell a partial body. */
    snprintf(beg.sender, sizeof(beg.sender), "load-%lu-%d-%d", opt_seed, client, seq);
    size = body_size(beg.sender);
    snprintf(beg.sender + strlen(beg.sender), sizeof(beg.sender) - strlen(beg.sender),
             "-%zu@test.invalid", size);
    if (!(body = make_body(beg.sender, size)))
        return -1;
    nrcpt = 1 + seq % 3;
    memset(rc, 0, sizeof(rc));
    for (int j = 0; j < nrcpt; j++)
        snprintf(rc[j].addr, sizeof(rc[j].addr), "r%d-%d-%d@example.test", j, client, seq);
    if (sc_sync_begin(&sub, c, &beg, rc, (size_t)nrcpt) < 0)
        goto out;
    for (off = 0; off < size; off += SEND_CHUNK)
        if (sc_sync_chunk(&sub, body + off, size - off < SEND_CHUNK ? size - off : SEND_CHUNK) < 0)
            goto out;
    if (sc_sync_commit(&sub, &done, TIMEOUT_MS) != 0)
        goto out;
    if (!sub.started) {
        snprintf(c->error, sizeof(c->error), "committed without SUBMIT_STARTED first");
        goto out;
    }
    pthread_mutex_lock(&ack_lock);
    if (ack_file) {
        fprintf(ack_file, "%s %s %zu\n", done.qid, beg.sender, size);
        fflush(ack_file);
    }
    acked++;
    bytes_sent += size;
    pthread_mutex_unlock(&ack_lock);
    ok = 1;
out:
    free(body);
    return ok ? 0 : -1;
}

static void *submit_thread(void *arg)
{
    int client = (int)(intptr_t)arg;
    struct ipc_client c;

    if (ipc_client_connect(&c, opt_socket, "store-load", "test", "submit") < 0) {
        fprintf(stderr, "client %d: %s\n", client, c.error);
        __atomic_add_fetch(&errors, 1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    for (;;) {
        int seq = __atomic_fetch_add(&next_message, 1, __ATOMIC_SEQ_CST);
        if (seq >= opt_total)
            break;
        if (submit_one(&c, client, seq) < 0) {
            fprintf(stderr, "client %d message %d: %s\n", client, seq, c.error);
            __atomic_add_fetch(&errors, 1, __ATOMIC_SEQ_CST);
            break;
        }
    }
    ipc_client_close(&c);
    return NULL;
}

static int mode_submit(void)
{
    pthread_t th[256];
    struct timespec t0, t1;
    double secs;

    if (opt_ack && !(ack_file = fopen(opt_ack, "a"))) {
        perror(opt_ack);
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < opt_clients; i++)
        pthread_create(&th[i], NULL, submit_thread, (void *)(intptr_t)i);
    for (int i = 0; i < opt_clients; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("submitted %llu messages, %llu bytes in %.2f s: %.1f msg/s, %.1f MiB/s; %d errors\n",
           acked, bytes_sent, secs, (double)acked / secs, (double)bytes_sent / secs / 1048576.0,
           errors);
    if (ack_file)
        fclose(ack_file);
    return errors ? 3 : 0;
}

/* ---- verify ------------------------------------------------------------------ */

struct listed {
    char qid[IPC_QID_MAX + 1];
    char sender[IPC_ADDR_MAX + 1];
    uint64_t size, generation;
};

static int list_all(struct ipc_client *c, struct listed **out, size_t *n)
{
    struct ipc_list_req q = {0};
    struct ipc_reader r;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    ipc_encode_list_req(&c->out, ipc_client_request_id(c), &q);
    if (ipc_client_send(c) < 0)
        return -1;
    for (;;) {
        struct ipc_envelope e;
        if (ipc_client_recv(c, &r, TIMEOUT_MS) < 0 || ipc_client_take_error(c, &r))
            return -1;
        if (r.type == IPC_END)
            return 0;
        if (r.type != IPC_ENVELOPE)
            continue;
        if (ipc_decode_envelope(&r, &e) < 0)
            return -1;
        if (*n == cap && !(*out = realloc(*out, (cap = cap ? cap * 2 : 1024) * sizeof(**out))))
            return -1;
        memcpy((*out)[*n].qid, e.qid, sizeof(e.qid));
        memcpy((*out)[*n].sender, e.sender, sizeof(e.sender));
        (*out)[*n].size = e.size;
        (*out)[(*n)++].generation = e.generation;
    }
}

/* Read a body back and compare with what its sender implies. */
static int check_body(struct ipc_client *c, const struct listed *m)
{
    struct ipc_qid_msg q;
    struct ipc_reader r;
    const char *dash = strrchr(m->sender, '-');
    size_t size = dash ? strtoul(dash + 1, NULL, 10) : 0, off = 0;
    uint8_t *want = make_body(m->sender, size);
    int bad = size != m->size;

    memcpy(q.qid, m->qid, sizeof(q.qid));
    ipc_encode_qid_msg(&c->out, IPC_READ_BODY, ipc_client_request_id(c), &q);
    if (!want || ipc_client_send(c) < 0)
        return free(want), -1;
    for (;;) {
        struct ipc_chunk ch;
        if (ipc_client_recv(c, &r, TIMEOUT_MS) < 0 || ipc_client_take_error(c, &r))
            return free(want), -1;
        if (r.type == IPC_END)
            break;
        if (ipc_decode_chunk(&r, &ch) < 0)
            return free(want), -1;
        if (off + ch.len > size || memcmp(want + off, ch.data, ch.len) != 0)
            bad = 1;
        off += ch.len;
    }
    free(want);
    return bad || off != size ? 1 : 0;
}

static const struct listed *find_listed(const struct listed *v, size_t n, const char *qid)
{
    size_t lo = 0, hi = n;

    while (lo < hi) { /* the list comes in qid order */
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(v[mid].qid, qid);
        if (cmp == 0)
            return &v[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int verify_acks(const struct listed *v, size_t n)
{
    FILE *f = opt_ack ? fopen(opt_ack, "r") : NULL;
    char qid[64], sender[600];
    size_t size;
    int bad = 0, count = 0;

    if (opt_ack && !f)
        return perror(opt_ack), 1;
    while (f && fscanf(f, "%63s %599s %zu", qid, sender, &size) == 3) {
        const struct listed *m = find_listed(v, n, qid);
        count++;
        if (!m || strcmp(m->sender, sender) != 0) {
            printf("# acknowledged message %s (%s) is %s\n", qid, sender,
                   m ? "listed with another sender" : "missing");
            bad++;
        }
    }
    if (f)
        fclose(f);
    printf("# %d acknowledged messages checked, %d missing or wrong\n", count, bad);
    return bad;
}

static int mode_verify(void)
{
    struct ipc_client c;
    struct listed *v;
    size_t n;
    int bad = 0;

    if (ipc_client_connect(&c, opt_socket, "store-load", "test", "list,read") < 0 ||
        list_all(&c, &v, &n) < 0) {
        fprintf(stderr, "verify: %s\n", c.error);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        int ret = strncmp(v[i].sender, "load-", 5) ? 1 : check_body(&c, &v[i]);
        if (ret < 0) {
            fprintf(stderr, "verify: %s: %s\n", v[i].qid, c.error);
            return 2;
        }
        if (ret)
            printf("# %s from <%s>: body is not the one submitted (partial or wrong)\n", v[i].qid,
                   v[i].sender);
        if (opt_expect_generation && v[i].generation != c.peer.generation) {
            printf("# %s: generation %llu, store is at %llu\n", v[i].qid,
                   (unsigned long long)v[i].generation, (unsigned long long)c.peer.generation);
            ret = 1;
        }
        bad += ret;
    }
    printf("# %zu messages listed, %d bad\n", n, bad);
    bad += verify_acks(v, n);
    free(v);
    ipc_client_close(&c);
    return bad ? 1 : 0;
}

/* ---- garbage ---------------------------------------------------------------- */

static int raw_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt_socket);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -1;
    return fd;
}

static void put_hello(struct sg_buf *b, uint32_t major, const char *needed)
{
    struct ipc_hello h = {.major = major};

    snprintf(h.program, sizeof(h.program), "garbage");
    snprintf(h.role, sizeof(h.role), "test");
    snprintf(h.caps_needed, sizeof(h.caps_needed), "%s", needed);
    ipc_encode_hello(b, 0, &h);
}

/* Build the bytes of one bad case into b. */
static const char *garbage_case(int i, struct sg_buf *b)
{
    static const uint8_t zero_len[] = {0, 0, 0, 0}, short_len[] = {0, 0, 0, 3, 1, 2, 3},
                         huge_len[] = {0x7f, 0xff, 0xff, 0xff, 0, 1};
    struct ipc_chunk ch = {(const uint8_t *)"abc", 3};

    if (i > 12)
        return NULL;
    if (i >= 3 && i != 10 && i != 11)
        put_hello(b, IPC_PROTO_MAJOR,
                  IPC_CAPS_STORE); /* every capability: the frame itself is what is bad */
    switch (i) {
    case 0:
        sg_buf_append(b, zero_len, sizeof(zero_len));
        return "zero length";
    case 1:
        sg_buf_append(b, short_len, sizeof(short_len));
        return "length 3";
    case 2:
        sg_buf_append(b, huge_len, sizeof(huge_len));
        return "length over the maximum";
    case 3:
        ipc_msg_begin(b, 999, 1);
        ipc_msg_end(b);
        return "unknown type";
    case 4:
        ipc_msg_begin(b, IPC_SUBMIT_COMMIT, 1);
        ipc_put_str(b, "x");
        ipc_msg_end(b);
        return "wrong field tag";
    case 5:
        ipc_msg_begin(b, IPC_READ_BODY, 1);
        ipc_put_u32(b, 1000);
        ipc_msg_end(b);
        b->data[b->len - 5] = IPC_TAG_STR;
        return "truncated string";
    case 6:
        ipc_msg_begin(b, IPC_DELETE, 1);
        ipc_put_bytes(b, "0000\0000000000", 13);
        b->data[b->mark + 10] = IPC_TAG_STR;
        ipc_msg_end(b);
        return "NUL inside a string";
    case 7:
        ipc_msg_begin(b, IPC_STATS, 1);
        ipc_put_u32(b, 7);
        ipc_msg_end(b);
        return "bytes left over";
    case 8:
        ipc_encode_submit_chunk(b, 0, &ch);
        return "SUBMIT_CHUNK without SUBMIT_BEGIN";
    case 9: {
        struct ipc_submit_commit cm = {3};
        ipc_encode_submit_commit(b, 1, &cm);
    }
        return "SUBMIT_COMMIT without SUBMIT_BEGIN";
    case 10:
        put_hello(b, 99, "");
        return "hello with protocol major 99";
    case 11:
        put_hello(b, IPC_PROTO_MAJOR, "nonesuch");
        return "hello needing capability nonesuch";
    case 12: {
        uint64_t s = 7;
        for (int k = 0; k < 64; k++) {
            uint8_t x = (uint8_t)splitmix(&s);
            sg_buf_append(b, &x, 1);
        }
    }
        return "random bytes";
    default:
        return NULL;
    }
}

/* The store must close the connection (an ERROR frame first is fine). */
static int closed_by_store(int fd)
{
    char buf[4096];
    struct timeval tv = {5, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return 1;
        if (n < 0)
            return 0; /* timed out: still open */
    }
}

static int still_serving(struct ipc_client *good)
{
    struct ipc_reader r;

    ipc_encode_empty(&good->out, IPC_STATS, ipc_client_request_id(good));
    return ipc_client_send(good) == 0 && ipc_client_recv(good, &r, TIMEOUT_MS) == 0 &&
           r.type == IPC_STATS_REPLY;
}

static int mode_garbage(void)
{
    struct ipc_client good;
    int failures = 0, i;
    const char *name;

    if (ipc_client_connect(&good, opt_socket, "store-load", "test", "submit,read,list,admin") < 0) {
        fprintf(stderr, "garbage: %s\n", good.error);
        return 2;
    }
    for (i = 0;; i++) {
        struct sg_buf b;
        int fd, closed;

        sg_buf_init(&b);
        if (!(name = garbage_case(i, &b)))
            break;
        if ((fd = raw_connect()) < 0)
            return perror("connect"), 2;
        send(fd, b.data, b.len, MSG_NOSIGNAL);
        closed = closed_by_store(fd);
        close(fd);
        sg_buf_free(&b);
        printf("%s %d - %s: connection %s\n", closed ? "ok" : "not ok", i + 1, name,
               closed ? "closed by the store" : "left open");
        failures += !closed;
        printf("%s %d - store still serves another client after: %s\n",
               still_serving(&good) ? "ok" : "not ok", i + 1, name);
    }
    opt_total = 1;
    opt_clients = 1;
    next_message = 0;
    submit_thread((void *)0);
    printf("%s - a good submission works after all bad input\n", errors ? "not ok" : "ok");
    ipc_client_close(&good);
    return failures || errors ? 1 : 0;
}

/* ---- lifecycle: updates, the due index, removal, events --------------------- */

static int lc_num;

static void tap(int good, const char *what)
{
    printf("%s %d - %s\n", good ? "ok" : "not ok", ++lc_num, what);
}

/* Send the frame in c->out; return the type of the reply (ERROR counts). */
static uint16_t roundtrip(struct ipc_client *c, struct ipc_reader *r)
{
    if (ipc_client_send(c) < 0 || ipc_client_recv(c, r, TIMEOUT_MS) < 0)
        return 0;
    return r->type;
}

static int update(struct ipc_client *c, const char *qid, uint32_t index, uint32_t state,
                  uint64_t next, const char *reply)
{
    struct ipc_rcpt_update u = {.index = index,
                                .state = state,
                                .attempts = 1,
                                .next_attempt_us = next,
                                .last_attempt_us = now_us()};
    struct ipc_reader r;

    snprintf(u.qid, sizeof(u.qid), "%s", qid);
    snprintf(u.route, sizeof(u.route), "smtp:[127.0.0.1]:25");
    snprintf(u.last_reply, sizeof(u.last_reply), "%s", reply);
    ipc_encode_rcpt_update(&c->out, ipc_client_request_id(c), &u);
    return roundtrip(c, &r) == IPC_OK ? 0 : (int)ipc_client_take_error(c, &r);
}

/* Is recipient `index` of qid in the due index (due before `before`)? */
static int is_due(struct ipc_client *c, const char *qid, uint32_t index, uint64_t before)
{
    struct ipc_due_req q = {.before_us = before, .limit = 100000};
    struct ipc_reader r;
    int found = 0;

    ipc_encode_due_req(&c->out, ipc_client_request_id(c), &q);
    if (ipc_client_send(c) < 0)
        return -1;
    while (ipc_client_recv(c, &r, TIMEOUT_MS) == 0 && r.type == IPC_DUE_ITEM) {
        struct ipc_due_item it;
        if (ipc_decode_due_item(&r, &it) == 0 && strcmp(it.qid, qid) == 0 && it.index == index)
            found = 1;
    }
    return found;
}

static int wait_event(struct ipc_client *sub, const char *qid)
{
    struct ipc_reader r;
    struct ipc_event ev;

    while (ipc_client_recv(sub, &r, 5000) == 0)
        if (r.type == IPC_EVENT && ipc_decode_event(&r, &ev) == 0 && ev.kind == IPC_EV_COMMITTED &&
            strcmp(ev.qid, qid) == 0)
            return 1;
    return 0;
}

static int mode_lifecycle(void)
{
    struct ipc_client c, sub;
    struct ipc_reader r;
    char qid[64] = "", line[700];
    uint64_t hour = 3600ull * 1000000u;

    if (ipc_client_connect(&c, opt_socket, "store-load", "test", "submit,update,due,read") < 0 ||
        ipc_client_connect(&sub, opt_socket, "store-load", "test", "events") < 0) {
        fprintf(stderr, "lifecycle: %s\n", c.error);
        return 2;
    }
    ipc_encode_empty(&sub.out, IPC_SUBSCRIBE, ipc_client_request_id(&sub));
    tap(roundtrip(&sub, &r) == IPC_OK, "SUBSCRIBE is answered OK");
    ack_file = tmpfile();
    opt_total = 2; /* message 1 has two recipients */
    next_message = 1;
    submit_thread((void *)0);
    rewind(ack_file);
    if (fgets(line, sizeof(line), ack_file))
        sscanf(line, "%63s", qid);
    fclose(ack_file);
    ack_file = NULL;
    tap(qid[0] != '\0', "a message with two recipients is committed");
    tap(wait_event(&sub, qid), "the subscriber gets a COMMITTED event naming it");
    tap(is_due(&c, qid, 0, 0) == 1, "a new recipient is due at once");
    tap(update(&c, qid, 0, RCPT_DEFERRED, now_us() + hour, "451 4.7.1 greylisted") == 0,
        "recipient 0 deferred for an hour");
    tap(is_due(&c, qid, 0, 0) == 0, "a deferred recipient is not due before its time");
    tap(is_due(&c, qid, 0, now_us() + 2 * hour) == 1, "and is due once its time has come");
    tap(update(&c, qid, 0, RCPT_DELIVERED, 0, "250 2.0.0 ok") == 0, "recipient 0 delivered");
    tap(is_due(&c, qid, 0, now_us() + 2 * hour) == 0, "a delivered recipient leaves the due index");
    tap(update(&c, qid, 0, RCPT_QUEUED, 0, "") == IPC_ERR_PERM,
        "a final recipient cannot be changed again");
    tap(update(&c, qid, 7, RCPT_FAILED, 0, "") == IPC_ERR_NOTFOUND,
        "updating a recipient that does not exist: not found");
    tap(update(&c, qid, 1, RCPT_FAILED, 0, "550 5.1.1 no such user") == 0,
        "recipient 1 failed: every recipient is final");
    {
        struct ipc_qid_msg q;
        snprintf(q.qid, sizeof(q.qid), "%s", qid);
        ipc_encode_qid_msg(&c.out, IPC_READ_ENVELOPE, ipc_client_request_id(&c), &q);
        tap(roundtrip(&c, &r) == IPC_ERROR && ipc_client_take_error(&c, &r) == IPC_ERR_NOTFOUND,
            "a message whose recipients are all final is removed");
    }
    {
        struct ipc_submit_begin b = {.sender = "aborted@test.invalid"};
        struct ipc_submit_rcpt rc = {.addr = "x@example.test"};
        struct ipc_chunk ch = {(const uint8_t *)"body", 4};
        struct ipc_qid_msg q;
        ipc_encode_submit_begin(&c.out, ipc_client_request_id(&c), &b);
        ipc_encode_submit_rcpt(&c.out, 0, &rc);
        ipc_encode_submit_chunk(&c.out, 0, &ch);
        tap(roundtrip(&c, &r) == IPC_SUBMIT_STARTED && ipc_decode_qid_msg(&r, &q) == 0,
            "a submission is begun");
        ipc_encode_empty(&c.out, IPC_SUBMIT_ABORT, ipc_client_request_id(&c));
        tap(roundtrip(&c, &r) == IPC_OK, "SUBMIT_ABORT is answered OK");
        ipc_encode_qid_msg(&c.out, IPC_READ_ENVELOPE, ipc_client_request_id(&c), &q);
        tap(roundtrip(&c, &r) == IPC_ERROR && ipc_client_take_error(&c, &r) == IPC_ERR_NOTFOUND,
            "an aborted submission leaves no message");
    }
    ipc_client_close(&sub);
    ipc_client_close(&c);
    return errors ? 1 : 0;
}

/* ---- abandon: a client that disconnects mid-submission ------------------------ */

/* Begin a 2 MiB submission (past staging_memory, so part of it is spilled),
 * send half the body and hang up without committing. */
static int mode_abandon(void)
{
    struct ipc_client c;
    struct ipc_submit_begin beg = {.sender = "abandoned@test.invalid"};
    struct ipc_submit_rcpt rc = {.addr = "nobody@example.test"};
    static uint8_t data[SEND_CHUNK];
    struct ipc_reader r;

    if (ipc_client_connect(&c, opt_socket, "store-load", "test", "submit") < 0) {
        fprintf(stderr, "abandon: %s\n", c.error);
        return 2;
    }
    memset(data, 'z', sizeof(data));
    ipc_encode_submit_begin(&c.out, ipc_client_request_id(&c), &beg);
    ipc_encode_submit_rcpt(&c.out, 0, &rc);
    for (int i = 0; i < 16; i++) {
        struct ipc_chunk ch = {data, sizeof(data)};
        ipc_encode_submit_chunk(&c.out, 0, &ch);
    }
    if (ipc_client_send(&c) < 0 || ipc_client_recv(&c, &r, TIMEOUT_MS) < 0 ||
        r.type != IPC_SUBMIT_STARTED) {
        fprintf(stderr, "abandon: %s\n", c.error);
        return 2;
    }
    usleep(200000); /* let the store stage what it got */
    ipc_client_close(&c);
    printf("abandoned a submission after 1 MiB of its body\n");
    return 0;
}

/* ---- options ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";

    for (int i = 2; i + 1 < argc + 1; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--expect-all-generation") == 0) {
            opt_expect_generation = 1;
            continue;
        }
        if (!v)
            break;
        if (strcmp(a, "-s") == 0)
            opt_socket = v;
        else if (strcmp(a, "-c") == 0)
            opt_clients = atoi(v);
        else if (strcmp(a, "-n") == 0)
            opt_total = atoi(v);
        else if (strcmp(a, "--min") == 0)
            opt_min = atol(v);
        else if (strcmp(a, "--max") == 0)
            opt_max = atol(v);
        else if (strcmp(a, "--seed") == 0)
            opt_seed = strtoul(v, NULL, 10);
        else if (strcmp(a, "--ack") == 0)
            opt_ack = v;
        else {
            fprintf(stderr, "store-load: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (!opt_socket || opt_clients < 1 || opt_clients > 256 || opt_min < 64 || opt_max < opt_min) {
        fprintf(stderr, "usage: store-load submit|verify|garbage|abandon|lifecycle -s SOCKET [-c "
                        "CLIENTS] [-n TOTAL]\n"
                        "       [--min BYTES] [--max BYTES] [--seed N] [--ack FILE] "
                        "[--expect-all-generation]\n");
        return 2;
    }
    if (strcmp(mode, "submit") == 0)
        return mode_submit();
    if (strcmp(mode, "verify") == 0)
        return mode_verify();
    if (strcmp(mode, "garbage") == 0)
        return mode_garbage();
    if (strcmp(mode, "abandon") == 0)
        return mode_abandon();
    if (strcmp(mode, "lifecycle") == 0)
        return mode_lifecycle();
    fprintf(stderr, "store-load: unknown mode \"%s\"\n", mode);
    return 2;
}
