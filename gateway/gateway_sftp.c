/* gateway_sftp.c - the share over SFTP (libssh2): one session, kept and re-established after any failure; the host key must match known_hosts. */
#include <errno.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gateway.h"
#include "log.h"

#define SFTP_TIMEOUT_MS 30000

struct sftp_share {
    char host[256];
    int port;
    char user[256];
    char key[1025];
    char known_hosts[1025];
    char root[1025];
    char name[1600];
    int sock;
    LIBSSH2_SESSION *session;
    LIBSSH2_SFTP *sftp;
    int no_fsync;         /* the server said it has no fsync@openssh.com */
    unsigned session_gen; /* changes whenever the session is dropped: older handles are dead */
};

struct sftp_share *gw_sftp_share_new(const struct cfg_gateway *c)
{
    struct sftp_share *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    libssh2_init(0);
    snprintf(s->host, sizeof(s->host), "%s", c->sftp_host);
    s->port = (int)c->sftp_port;
    snprintf(s->user, sizeof(s->user), "%s", c->sftp_user);
    snprintf(s->key, sizeof(s->key), "%s", c->sftp_key);
    snprintf(s->known_hosts, sizeof(s->known_hosts), "%s", c->sftp_known_hosts);
    snprintf(s->root, sizeof(s->root), "%s", c->sftp_root);
    snprintf(s->name, sizeof(s->name), "sftp://%s@%s:%d%s", s->user, s->host, s->port, s->root);
    s->sock = -1;
    return s;
}

static void sftp_drop(struct sftp_share *s)
{
    if (s->sftp)
        libssh2_sftp_shutdown(s->sftp);
    if (s->session) {
        libssh2_session_disconnect(s->session, "spoolgate-gateway");
        libssh2_session_free(s->session);
    }
    if (s->sock >= 0)
        close(s->sock);
    s->sftp = NULL;
    s->session = NULL;
    s->sock = -1;
    s->session_gen++;
}

void gw_sftp_share_free(struct sftp_share *s)
{
    if (!s)
        return;
    sftp_drop(s);
    free(s);
}

static const char *session_error(struct sftp_share *s)
{
    char *msg = NULL;

    if (!s->session)
        return "no session";
    libssh2_session_last_error(s->session, &msg, NULL, 0);
    return msg && msg[0] ? msg : "unknown SSH error";
}

static int fail(struct sftp_share *s, char *why, size_t whysz, const char *op, const char *rel,
                const char *detail)
{
    snprintf(why, whysz, "share %.1000s: %s %.200s: %.150s", s->name, op, rel, detail);
    return -1;
}

static int tcp_connect(struct sftp_share *s, char *why, size_t whysz)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    struct timeval tv = {.tv_sec = SFTP_TIMEOUT_MS / 1000};
    char port[16];
    int rc, err = 0;

    snprintf(port, sizeof(port), "%d", s->port);
    if ((rc = getaddrinfo(s->host, port, &hints, &res)) != 0)
        return fail(s, why, whysz, "connect", "", gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        s->sock = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (s->sock < 0)
            continue;
        setsockopt(s->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(s->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(s->sock, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno;
        close(s->sock);
        s->sock = -1;
    }
    freeaddrinfo(res);
    return s->sock < 0 ? fail(s, why, whysz, "connect", "", strerror(err ? err : ECONNREFUSED)) : 0;
}

static int host_key_check(struct sftp_share *s, char *why, size_t whysz)
{
    LIBSSH2_KNOWNHOSTS *nh = libssh2_knownhost_init(s->session);
    const char *key;
    size_t len;
    int type, check;

    if (!nh)
        return fail(s, why, whysz, "host key check", "", "out of memory");
    if (libssh2_knownhost_readfile(nh, s->known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
        libssh2_knownhost_free(nh);
        snprintf(why, whysz, "share %s: cannot read known_hosts file %s", s->name, s->known_hosts);
        return -1;
    }
    key = libssh2_session_hostkey(s->session, &len, &type);
    check = key ? libssh2_knownhost_checkp(
                      nh, s->host, s->port, key, len,
                      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW, NULL)
                : LIBSSH2_KNOWNHOST_CHECK_FAILURE;
    libssh2_knownhost_free(nh);
    if (check == LIBSSH2_KNOWNHOST_CHECK_MATCH)
        return 0;
    if (check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
        /* An alert each time: delivery to this share stops until someone looks. */
        log_error("ALERT: the host key of %s:%d does not match %s; nothing is sent to the share %s "
                  "until this is resolved",
                  s->host, s->port, s->known_hosts, s->name);
        snprintf(why, whysz, "share %s: host key mismatch (known_hosts %s)", s->name,
                 s->known_hosts);
        return -1;
    }
    snprintf(why, whysz, "share %s: host key %s in %s", s->name,
             check == LIBSSH2_KNOWNHOST_CHECK_NOTFOUND ? "not found" : "could not be checked",
             s->known_hosts);
    return -1;
}

static int sftp_connect(struct sftp_share *s, char *why, size_t whysz)
{
    if (tcp_connect(s, why, whysz) < 0)
        return -1;
    s->session = libssh2_session_init();
    if (!s->session) {
        sftp_drop(s);
        return fail(s, why, whysz, "SSH session", "", "out of memory");
    }
    libssh2_session_set_blocking(s->session, 1);
    libssh2_session_set_timeout(s->session, SFTP_TIMEOUT_MS);
    if (libssh2_session_handshake(s->session, s->sock) != 0) {
        fail(s, why, whysz, "SSH handshake", "", session_error(s));
        sftp_drop(s);
        return -1;
    }
    if (host_key_check(s, why, whysz) < 0) {
        sftp_drop(s);
        return -1;
    }
    if (libssh2_userauth_publickey_fromfile(s->session, s->user, NULL, s->key, NULL) != 0) {
        fail(s, why, whysz, "SSH authentication as", s->user, session_error(s));
        sftp_drop(s);
        return -1;
    }
    s->sftp = libssh2_sftp_init(s->session);
    if (!s->sftp) {
        fail(s, why, whysz, "SFTP start", "", session_error(s));
        sftp_drop(s);
        return -1;
    }
    return 0;
}

static int ensure(struct sftp_share *s, char *why, size_t whysz)
{
    return s->sftp ? 0 : sftp_connect(s, why, whysz);
}

static const char *fx_text(unsigned long fx)
{
    switch (fx) {
    case LIBSSH2_FX_NO_SUCH_FILE:
        return "No such file or directory";
    case LIBSSH2_FX_PERMISSION_DENIED:
        return "Permission denied";
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
        return "No space left on device";
    case LIBSSH2_FX_QUOTA_EXCEEDED:
        return "Disk quota exceeded";
    case LIBSSH2_FX_FILE_ALREADY_EXISTS:
        return "File exists";
    case LIBSSH2_FX_NO_CONNECTION:
    case LIBSSH2_FX_CONNECTION_LOST:
        return "connection lost";
    default:
        return "SFTP failure";
    }
}

/* An operation failed: say why; a broken session is dropped (the next operation reconnects). */
static int op_fail(struct sftp_share *s, char *why, size_t whysz, const char *op, const char *rel)
{
    int e = s->session ? libssh2_session_last_errno(s->session) : LIBSSH2_ERROR_SOCKET_DISCONNECT;

    if (e == LIBSSH2_ERROR_SFTP_PROTOCOL && s->sftp) {
        return fail(s, why, whysz, op, rel, fx_text(libssh2_sftp_last_error(s->sftp)));
    }
    fail(s, why, whysz, op, rel, session_error(s));
    sftp_drop(s);
    return -1;
}

static void full_path(struct sftp_share *s, const char *rel, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", s->root, rel);
}

/* What rel is by LSTAT (a symbolic link is never followed): 0 with *mode, or -1 with why. */
static int sftp_lstat(struct sftp_share *s, const char *op, const char *rel, mode_t *mode,
                      char *why, size_t whysz)
{
    char path[2100];
    LIBSSH2_SFTP_ATTRIBUTES a;
    int rc = gw_safe_name_check(s->name, op, rel, why, whysz);

    if (rc < 0)
        return rc;
    full_path(s, rel, path, sizeof(path));
    if (libssh2_sftp_stat_ex(s->sftp, path, (unsigned)strlen(path), LIBSSH2_SFTP_LSTAT, &a) != 0)
        return op_fail(s, why, whysz, op, rel);
    if (!(a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS))
        return fail(s, why, whysz, op, rel, "the server did not say what kind of file it is");
    *mode = (mode_t)a.permissions; /* SFTP's type bits are POSIX's */
    return 0;
}

/* Every directory on the way to rel (and rel itself when whole) a real directory, not a link. */
static int sftp_real_dirs(struct sftp_share *s, const char *op, const char *rel, int whole,
                          char *why, size_t whysz)
{
    char upto[1024];
    size_t end = whole ? strlen(rel) : 0;
    mode_t mode;
    int rc = gw_safe_name_check(s->name, op, rel, why, whysz);

    if (rc < 0)
        return rc;
    if (!whole && strrchr(rel, '/'))
        end = (size_t)(strrchr(rel, '/') - rel);
    for (size_t i = 1; i <= end && i < sizeof(upto); i++) {
        if (i < end && rel[i] != '/')
            continue;
        snprintf(upto, sizeof(upto), "%.*s", (int)i, rel);
        if ((rc = sftp_lstat(s, op, upto, &mode, why, whysz)) < 0)
            return rc;
        if (!S_ISDIR(mode)) {
            char detail[1100];

            snprintf(detail, sizeof(detail), "refused: %s/ is %s", upto,
                     S_ISLNK(mode) ? "a symbolic link" : "not a directory");
            fail(s, why, whysz, op, rel, detail);
            return SHARE_PATH_REFUSED;
        }
    }
    return 0;
}

int gw_sftp_read_file(struct sftp_share *s, const char *rel, uint8_t **data, size_t *len, char *why,
                      size_t whysz)
{
    char path[2100];
    LIBSSH2_SFTP_HANDLE *h;
    struct sg_buf buf = {0};
    ssize_t n;
    mode_t mode;
    int rc;

    if ((rc = ensure(s, why, whysz)) < 0 ||
        (rc = sftp_real_dirs(s, "read", rel, 0, why, whysz)) < 0 ||
        (rc = sftp_lstat(s, "read", rel, &mode, why, whysz)) < 0)
        return rc;
    if (!S_ISREG(mode)) { /* only our reason, nothing read through it */
        snprintf(why, whysz, "%s", gw_safe_kind(mode));
        return SHARE_REFUSED;
    }
    full_path(s, rel, path, sizeof(path));
    h = libssh2_sftp_open(s->sftp, path, LIBSSH2_FXF_READ, 0);
    if (!h)
        return op_fail(s, why, whysz, "open", rel);
    do {
        if (sg_buf_reserve(&buf, 65536 + 1) < 0) {
            sg_buf_free(&buf);
            libssh2_sftp_close(h);
            return fail(s, why, whysz, "read", rel, "out of memory");
        }
        n = libssh2_sftp_read(h, (char *)buf.data + buf.len, 65536);
        if (n > 0)
            buf.len += (size_t)n;
    } while (n > 0);
    if (n < 0) {
        sg_buf_free(&buf);
        libssh2_sftp_close(h);
        return op_fail(s, why, whysz, "read", rel);
    }
    libssh2_sftp_close(h);
    buf.data[buf.len] = '\0';
    *data = sg_buf_detach(&buf, len);
    return 0;
}

int gw_sftp_stat_mtime(struct sftp_share *s, const char *rel, int64_t *mtime, char *why,
                       size_t whysz)
{
    char path[2100];
    LIBSSH2_SFTP_ATTRIBUTES a;
    int rc;

    if ((rc = ensure(s, why, whysz)) < 0 ||
        (rc = gw_safe_name_check(s->name, "stat", rel, why, whysz)) < 0)
        return rc;
    full_path(s, rel, path, sizeof(path));
    if (libssh2_sftp_stat_ex(s->sftp, path, (unsigned)strlen(path), LIBSSH2_SFTP_LSTAT, &a) != 0)
        return op_fail(s, why, whysz, "stat", rel);
    *mtime = (int64_t)a.mtime * 1000000000;
    return 0;
}

/* Rename from to to with the given LIBSSH2_SFTP_RENAME_* flags: 0 done, 1 refused by the server,
 * -1 no session or SHARE_PATH_REFUSED (why says so). */
static int sftp_rename(struct sftp_share *s, const char *from, const char *to, long flags,
                       char *why, size_t whysz)
{
    char a[2100], b[2100];
    int rc;

    if ((rc = ensure(s, why, whysz)) < 0 ||
        (rc = sftp_real_dirs(s, "rename", from, 0, why, whysz)) < 0 ||
        (rc = sftp_real_dirs(s, "rename", to, 0, why, whysz)) < 0)
        return rc;
    full_path(s, from, a, sizeof(a));
    full_path(s, to, b, sizeof(b));
    return libssh2_sftp_rename_ex(s->sftp, a, (unsigned)strlen(a), b, (unsigned)strlen(b), flags) ==
                   0
               ? 0
               : 1;
}

int gw_sftp_rename(struct sftp_share *s, const char *from, const char *to, char *why, size_t whysz)
{
    int rc = sftp_rename(s, from, to,
                         LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
                             LIBSSH2_SFTP_RENAME_NATIVE,
                         why, whysz);

    return rc > 0 ? op_fail(s, why, whysz, "rename", from) : rc;
}

int gw_sftp_unlink(struct sftp_share *s, const char *rel, char *why, size_t whysz)
{
    char path[2100];
    int rc;

    if ((rc = ensure(s, why, whysz)) < 0 ||
        (rc = sftp_real_dirs(s, "delete", rel, 0, why, whysz)) < 0)
        return rc;
    full_path(s, rel, path, sizeof(path));
    return libssh2_sftp_unlink(s->sftp, path) != 0 ? op_fail(s, why, whysz, "delete", rel) : 0;
}

/* 1 if rel is there, 0 if not, -1 (with why) when the share cannot say. */
int gw_sftp_exists(struct sftp_share *s, const char *rel, char *why, size_t whysz)
{
    char path[2100];
    LIBSSH2_SFTP_ATTRIBUTES a;
    int rc;

    if ((rc = ensure(s, why, whysz)) < 0 ||
        (rc = gw_safe_name_check(s->name, "stat", rel, why, whysz)) < 0)
        return rc;
    full_path(s, rel, path, sizeof(path));
    if (libssh2_sftp_stat_ex(s->sftp, path, (unsigned)strlen(path), LIBSSH2_SFTP_LSTAT, &a) == 0)
        return 1;
    if (libssh2_session_last_errno(s->session) == LIBSSH2_ERROR_SFTP_PROTOCOL &&
        libssh2_sftp_last_error(s->sftp) == LIBSSH2_FX_NO_SUCH_FILE)
        return 0;
    return op_fail(s, why, whysz, "stat", rel);
}

/* After a refused create or rename: SHARE_EXISTS when the name is taken, else the failure. */
static int taken_or_fail(struct sftp_share *s, const char *target, const char *op, const char *rel,
                         char *why, size_t whysz)
{
    char path[2100];
    LIBSSH2_SFTP_ATTRIBUTES a;

    if (libssh2_session_last_errno(s->session) != LIBSSH2_ERROR_SFTP_PROTOCOL)
        return op_fail(s, why, whysz, op, rel);
    if (libssh2_sftp_last_error(s->sftp) == LIBSSH2_FX_FILE_ALREADY_EXISTS)
        return SHARE_EXISTS;
    fail(s, why, whysz, op, rel, fx_text(libssh2_sftp_last_error(s->sftp)));
    full_path(s, target, path, sizeof(path));
    return libssh2_sftp_stat(s->sftp, path, &a) == 0 ? SHARE_EXISTS : -1;
}

/* An open file being written: only valid in the session it was opened in. */
struct sftp_file {
    LIBSSH2_SFTP_HANDLE *h;
    unsigned gen;
    char rel[1024];
};

static int file_alive(struct sftp_share *s, struct sftp_file *f, char *why, size_t whysz)
{
    if (f->h && f->gen == s->session_gen && s->sftp)
        return 0;
    f->h = NULL; /* its session is gone, and the handle with it */
    return fail(s, why, whysz, "write", f->rel,
                "the SFTP session was lost while the file was open");
}

int gw_sftp_file_create(struct sftp_share *s, const char *rel, struct sftp_file **out, char *why,
                        size_t whysz)
{
    char path[2100];
    struct sftp_file *f;
    int rc;

    *out = NULL;
    if ((rc = ensure(s, why, whysz)) < 0 ||
        (rc = sftp_real_dirs(s, "create", rel, 0, why, whysz)) < 0)
        return rc;
    if (strlen(rel) >= sizeof(f->rel))
        return fail(s, why, whysz, "create", rel, "path too long");
    if (!(f = calloc(1, sizeof(*f))))
        return fail(s, why, whysz, "create", rel, "out of memory");
    snprintf(f->rel, sizeof(f->rel), "%s", rel);
    full_path(s, rel, path, sizeof(path));
    f->h = libssh2_sftp_open(s->sftp, path,
                             LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0640);
    if (!f->h) {
        rc = taken_or_fail(s, rel, "create", rel, why, whysz);
        free(f);
        return rc;
    }
    f->gen = s->session_gen;
    *out = f;
    return 0;
}

int gw_sftp_file_write(struct sftp_share *s, struct sftp_file *f, const struct iovec *iov, int niov,
                       char *why, size_t whysz)
{
    if (file_alive(s, f, why, whysz) < 0)
        return -1;
    for (int i = 0; i < niov; i++) {
        const char *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;

        while (left > 0) {
            ssize_t n = libssh2_sftp_write(f->h, p, left);

            if (n < 0)
                return op_fail(s, why, whysz, "write", f->rel);
            p += n;
            left -= (size_t)n;
        }
    }
    return 0;
}

/* keep: flush (fsync@openssh.com where offered) and close; else close and remove.  f is freed. */
int gw_sftp_file_finish(struct sftp_share *s, struct sftp_file *f, int keep, char *why,
                        size_t whysz)
{
    char path[2100];
    int rc = 0;

    full_path(s, f->rel, path, sizeof(path));
    if (file_alive(s, f, why, whysz) < 0) {
        rc = -1;
    } else {
        if (keep && !s->no_fsync && libssh2_sftp_fsync(f->h) != 0) {
            if (libssh2_session_last_errno(s->session) != LIBSSH2_ERROR_SFTP_PROTOCOL) {
                rc = op_fail(s, why, whysz, "fsync", f->rel);
            } else {
                /* The server does not offer fsync@openssh.com: the close is all we can ask for. */
                log_warn("share %s: the SFTP server does not offer fsync@openssh.com; transfer "
                         "files are "
                         "flushed only as far as its close does",
                         s->name);
                s->no_fsync = 1;
            }
        }
        if (rc == 0 && s->sftp && libssh2_sftp_close(f->h) != 0)
            rc = op_fail(s, why, whysz, "close", f->rel);
        else if (rc != 0 && s->sftp)
            libssh2_sftp_close(f->h);
    }
    if (rc != 0 || !keep) {
        char uwhy[256];

        if (ensure(s, uwhy, sizeof(uwhy)) == 0)
            libssh2_sftp_unlink(s->sftp, path); /* not named by the journal yet: simply not sent */
    }
    free(f);
    return rc;
}

/* The protocol's plain rename (SFTP v3 SSH_FXP_RENAME), which refuses an existing target; never the
 * posix-rename@openssh.com extension, which replaces it. */
int gw_sftp_rename_noreplace(struct sftp_share *s, const char *from, const char *to, char *why,
                             size_t whysz)
{
    int rc = sftp_rename(s, from, to, LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE, why,
                         whysz);

    return rc > 0 ? taken_or_fail(s, to, "rename", from, why, whysz) : rc;
}

/* SFTP has no way to fsync a directory (fsync@openssh.com takes a file handle): the server's own
 * rename is all there is; doc/POSTOFFICE.md says so. */
int gw_sftp_sync_dir(struct sftp_share *s, const char *rel, char *why, size_t whysz)
{
    (void)rel;
    return ensure(s, why, whysz);
}

int gw_sftp_mkdir(struct sftp_share *s, const char *rel, char *why, size_t whysz)
{
    char path[2100];
    int rc;

    if ((rc = ensure(s, why, whysz)) < 0 ||
        (rc = sftp_real_dirs(s, "mkdir", rel, 0, why, whysz)) < 0)
        return rc;
    full_path(s, rel, path, sizeof(path));
    if (libssh2_sftp_mkdir(s->sftp, path, 0750) == 0)
        return 0;
    if (op_fail(s, why, whysz, "mkdir", rel) < 0 && s->sftp) {
        char ewhy[GW_WHY_MAX];

        if (gw_sftp_exists(s, rel, ewhy, sizeof(ewhy)) == 1) /* there already: a real one? */
            return sftp_real_dirs(s, "mkdir", rel, 1, why, whysz);
    }
    return -1;
}

int gw_sftp_list(struct sftp_share *s, const char *dir, const char *suffix, char ***names,
                 size_t *n, char *why, size_t whysz)
{
    char path[2100], entry[512], skip[GW_WHY_MAX];
    LIBSSH2_SFTP_HANDLE *h;
    LIBSSH2_SFTP_ATTRIBUTES a;
    size_t cap = 0, slen = strlen(suffix);
    char **v = NULL;
    int got;

    *names = NULL;
    *n = 0;
    if ((got = ensure(s, why, whysz)) < 0 ||
        (got = sftp_real_dirs(s, "list", dir, 1, why, whysz)) < 0)
        return got;
    full_path(s, dir, path, sizeof(path));
    h = libssh2_sftp_opendir(s->sftp, path);
    if (!h)
        return op_fail(s, why, whysz, "list", dir);
    while ((got = libssh2_sftp_readdir(h, entry, sizeof(entry), &a)) > 0) {
        size_t len = (size_t)got;

        if (len <= slen || strcmp(entry + len - slen, suffix) != 0 || strchr(entry, '/') ||
            gw_safe_name_check(s->name, "list", entry, skip, sizeof(skip)) < 0)
            continue; /* not a plain name: left out */
        if (gw_share_names_add(&v, n, &cap, entry) < 0)
            break;
    }
    libssh2_sftp_closedir(h);
    if (got < 0) {
        gw_share_list_free(v, *n);
        *n = 0;
        return op_fail(s, why, whysz, "list", dir);
    }
    if (*n)
        qsort(v, *n, sizeof(*v), gw_share_name_cmp);
    *names = v;
    return 0;
}
