/* ipc_client.c - blocking IPC client for tools and tests: connect, hello, send and receive frames. */
#include "ipc_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "store_addr.h"

#define HELLO_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 10000

static int client_fail(struct ipc_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int client_fail(struct ipc_client *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->error, sizeof(c->error), fmt, ap);
    va_end(ap);
    return -1;
}

static int client_open_unix(struct ipc_client *c, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (strlen(path) >= sizeof(sa.sun_path))
        return client_fail(c, "%s: socket path too long", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return client_fail(c, "socket: %s", strerror(errno));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return client_fail(c, "%s: cannot connect: %s", path, strerror(errno));
    return 0;
}

/* A TCP connection within CONNECT_TIMEOUT_MS (a host that does not answer is not waited for
 * as long as the kernel would). */
static int client_open_tcp(struct ipc_client *c, const char *addr,
                           const struct sockaddr_storage *ss)
{
    struct pollfd pfd = {.events = POLLOUT};
    socklen_t len = sizeof(int);
    int err = 0, one = 1, ret;

    if ((c->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        return client_fail(c, "socket: %s", strerror(errno));
    pfd.fd = c->fd;
    if (connect(c->fd, (const struct sockaddr *)ss,
                ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                          : sizeof(struct sockaddr_in)) < 0) {
        if (errno != EINPROGRESS)
            return client_fail(c, "%s: cannot connect: %s", addr, strerror(errno));
        while ((ret = poll(&pfd, 1, CONNECT_TIMEOUT_MS)) < 0 && errno == EINTR)
            ;
        if (ret == 0)
            return client_fail(c, "%s: cannot connect: timed out", addr);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
            return client_fail(c, "%s: cannot connect: %s", addr, strerror(err ? err : errno));
    }
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK) < 0)
        return client_fail(c, "%s: fcntl: %s", addr, strerror(errno));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

static int client_send_raw(struct ipc_client *c, const uint8_t *data, size_t len);
static int client_read_more(struct ipc_client *c, int timeout_ms);

/* The TLS handshake as the client: our records out, the server's in, until it is done. */
static int client_handshake(struct ipc_client *c, const char *addr, const char *host)
{
    struct sg_buf none = {0};
    char why[300];
    int ret;

    if (ipc_tls_begin(&c->tls, 0, host, why, sizeof(why)) < 0)
        return client_fail(c, "%s: %s", addr, why);
    ret = ipc_tls_in(&c->tls, NULL, 0, &none, &c->raw, why, sizeof(why));
    sg_buf_free(&none);
    if (ret < 0)
        return client_fail(c, "%s: %s", addr, why);
    while (!c->tls.established)
        if (client_send_raw(c, c->raw.data, c->raw.len) < 0 ||
            client_read_more(c, HELLO_TIMEOUT_MS) < 0) {
            size_t n = strlen(c->error);

            snprintf(c->error + n, sizeof(c->error) - n, " (TLS handshake with %s)", addr);
            return -1;
        }
    return client_send_raw(c, c->raw.data, c->raw.len);
}

static int client_open(struct ipc_client *c, const char *path)
{
    struct sockaddr_storage ss;
    char host[64];
    int tcp = sc_addr_tcp(path, &ss, host, sizeof(host));

    if (tcp < 0)
        return client_fail(c, "%s: not a numeric tcp:ADDRESS:PORT", path);
    if (tcp == 0)
        return client_open_unix(c, path);
    if (client_open_tcp(c, path, &ss) < 0)
        return -1;
    return client_handshake(c, path, host);
}

static int client_recv_frame(struct ipc_client *c, struct ipc_reader *r, int timeout_ms);

/* The master a store that is not master names: also for a client such a site serves. */
static void client_follow(struct ipc_client *c)
{
    if (strcmp(c->role.role, IPC_ROLE_MASTER) != 0)
        snprintf(c->follow, sizeof(c->follow), "%s", c->role.master_addr);
    else
        c->follow[0] = '\0';
}

/* A store that offers IPC_CAP_ROLE sends its role after our hello: one that is not master
 * names the master (kept in c->follow) and is not used for more than its hello offers. */
static int client_role(struct ipc_client *c, const char *role, const char *caps_needed)
{
    struct ipc_reader r;
    uint32_t code;
    char why[IPC_REPLY_MAX + 1];

    if (ipc_hello_check(&c->peer, "", &code, why, sizeof(why)) < 0)
        return client_fail(c, "%s", why);
    if (client_recv_frame(c, &r, HELLO_TIMEOUT_MS) < 0 || ipc_client_take_error(c, &r))
        return -1;
    if (r.type != IPC_ROLE || ipc_decode_role(&r, &c->role) < 0)
        return client_fail(c, "expected the store's role after its hello, got %s%s%s",
                           ipc_type_name(r.type), r.error ? ": " : "", r.error ? r.error : "");
    c->has_role = 1;
    client_follow(c);
    if (ipc_role_check(&c->role, &c->peer, role, caps_needed, &code, why, sizeof(why)) == 0)
        return 0;
    return client_fail(c, "%s", why);
}

static int client_hello(struct ipc_client *c, const char *program, const char *role,
                        const char *caps_needed)
{
    struct ipc_hello h = {.major = IPC_PROTO_MAJOR, .minor = IPC_PROTO_MINOR};
    struct ipc_reader r;
    uint32_t code;
    char why[300];
    size_t len;

    snprintf(h.program, sizeof(h.program), "%s", program);
    snprintf(h.role, sizeof(h.role), "%s", role);
    snprintf(h.caps_needed, sizeof(h.caps_needed), "%s", caps_needed);
    if (ipc_encode_hello(&c->out, 0, &h) < 0 || ipc_client_send(c) < 0 ||
        ipc_client_recv(c, &r, HELLO_TIMEOUT_MS) < 0)
        return -1;
    if (ipc_client_take_error(c, &r))
        return -1;
    if (ipc_decode_hello(&r, &c->peer) < 0)
        return client_fail(c, "bad hello from the store: %s", r.error);
    if (!ipc_caps_missing(IPC_CAP_ROLE, c->peer.caps_offered, &len) &&
        client_role(c, role, caps_needed) < 0)
        return -1;
    if (ipc_hello_check(&c->peer, caps_needed, &code, why, sizeof(why)) < 0)
        return client_fail(c, "%s", why);
    return 0;
}

int ipc_client_connect(struct ipc_client *c, const char *socket_path, const char *program,
                       const char *role, const char *caps_needed)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->next_request = 1;
    sg_buf_init(&c->in);
    sg_buf_init(&c->out);
    if (client_open(c, socket_path) < 0 || client_hello(c, program, role, caps_needed) < 0) {
        ipc_client_close(c); /* error and follow stay */
        return -1;
    }
    return 0;
}

void ipc_client_close(struct ipc_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    ipc_tls_end(&c->tls);
    sg_buf_free(&c->in);
    sg_buf_free(&c->out);
    sg_buf_free(&c->raw);
}

static int client_peer_error(struct ipc_client *c);

/* Octets to the socket as they are (a frame, or TLS records in c->raw). */
static int client_send_raw(struct ipc_client *c, const uint8_t *data, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;

            sg_buf_reset(&c->raw);
            /* A server that refused us (at the hello, say) wrote why before it closed. */
            if ((err == EPIPE || err == ECONNRESET) && client_peer_error(c))
                return -1;
            return client_fail(c, "send: %s", strerror(err));
        }
        off += (size_t)n;
    }
    sg_buf_reset(&c->raw);
    return 0;
}

int ipc_client_send(struct ipc_client *c)
{
    int ret;

    if (c->out.failed) {
        sg_buf_reset(&c->out);
        return client_fail(c, "%s", "frame could not be built (too large or out of memory)");
    }
    if (!c->tls.bio)
        ret = client_send_raw(c, c->out.data, c->out.len);
    else if (ipc_tls_seal(&c->tls, c->out.data, c->out.len, &c->raw) < 0) {
        sg_buf_reset(&c->raw);
        ret = client_fail(c, "%s", "cannot encrypt (out of memory)");
    } else
        ret = client_send_raw(c, c->raw.data, c->raw.len);
    sg_buf_reset(&c->out);
    return ret;
}

/* Octets from the socket within timeout_ms: onto c->in as they are, or, with TLS, through the
 * engine (ciphertext in a buffer of its own, plaintext onto c->in, maybe none yet). */
static int client_read_more(struct ipc_client *c, int timeout_ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    uint8_t cipher[16384], *to = cipher;
    size_t room = sizeof(cipher);
    char why[300];
    ssize_t n;
    int ret, was = c->tls.established;

    while ((ret = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    if (ret == 0)
        return client_fail(c, "%s", "timed out waiting for the store");
    if (!c->tls.bio) {
        if (sg_buf_reserve(&c->in, 65536) < 0)
            return client_fail(c, "%s", "out of memory");
        to = c->in.data + c->in.len;
        room = c->in.cap - c->in.len;
    }
    while ((n = recv(c->fd, to, room, 0)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return client_fail(c, "recv: %s", strerror(errno));
    if (n == 0)
        return client_fail(c, "%s", "the store closed the connection");
    if (!c->tls.bio) {
        c->in.len += (size_t)n;
        return 0;
    }
    if (ipc_tls_in(&c->tls, cipher, (size_t)n, &c->in, &c->raw, why, sizeof(why)) < 0)
        return client_fail(c, "%s", why);
    /* the handshake's records are sent by its loop; later ones (none expected) here */
    return was && c->raw.len ? client_send_raw(c, c->raw.data, c->raw.len) : 0;
}

static int client_recv_frame(struct ipc_client *c, struct ipc_reader *r, int timeout_ms)
{
    const char *error = NULL;
    int got;

    memset(r, 0, sizeof(*r)); /* nothing of an earlier frame is read after a failure */

    /* Frames are taken from in_off on; what is left is moved to the front only before a read,
     * so a read of many frames is not moved once for every frame taken from it. */
    c->in_off += c->frame_len;
    c->frame_len = 0;
    while ((got = ipc_frame_split(c->in.data + c->in_off, c->in.len - c->in_off, &c->frame_len,
                                  &error)) == 0) {
        sg_buf_consume(&c->in, c->in_off);
        c->in_off = 0;
        if (client_read_more(c, timeout_ms) < 0)
            return -1;
    }
    if (got < 0)
        return client_fail(c, "bad frame from the store: %s", error);
    if (ipc_reader_init(r, c->in.data + c->in_off, c->frame_len) < 0)
        return client_fail(c, "bad frame from the store: %s", r->error);
    return 0;
}

int ipc_client_recv(struct ipc_client *c, struct ipc_reader *r, int timeout_ms)
{
    /* a store whose role changes tells every client; a tool's command goes on regardless */
    while (client_recv_frame(c, r, timeout_ms) == 0) {
        if (!c->has_role || r->type != IPC_ROLE || r->request_id != 0)
            return 0;
        if (ipc_decode_role(r, &c->role) < 0)
            return client_fail(c, "bad role from the store: %s", r->error);
        client_follow(c);
    }
    return -1;
}

/* 1 with c->error set when an error frame from the server is waiting to be read. */
static int client_peer_error(struct ipc_client *c)
{
    struct ipc_reader r;

    return ipc_client_recv(c, &r, 100) == 0 && ipc_client_take_error(c, &r) != 0;
}

uint32_t ipc_client_request_id(struct ipc_client *c)
{
    return c->next_request++;
}

uint32_t ipc_client_take_error(struct ipc_client *c, struct ipc_reader *r)
{
    struct ipc_error e;

    if (r->type != IPC_ERROR)
        return 0;
    if (ipc_decode_error(r, &e) < 0) {
        client_fail(c, "bad error frame from the store: %s", r->error);
        return IPC_ERR_PROTO;
    }
    snprintf(c->error, sizeof(c->error), "%s (%s)", e.text, ipc_error_name(e.code));
    return e.code;
}
