/* smtpd_auth.c - AUTH PLAIN/LOGIN credentials: the users file, base64, and crypt(3) checks on a worker thread. */
#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "log.h"
#include "smtpd.h"

#define USER_MAX 127
#define HASH_MAX 255

struct smtpd_user {
    char name[USER_MAX + 1];
    char hash[HASH_MAX + 1];
};

struct smtpd_users {
    struct smtpd_user *v;
    size_t n, cap;
};

void smtpd_users_free(struct smtpd_users *u)
{
    if (!u)
        return;
    OPENSSL_cleanse(u->v, u->n * sizeof(*u->v));
    free(u->v);
    free(u);
}

static int users_add(struct smtpd_users *u, const char *name, size_t nlen, const char *hash)
{
    struct smtpd_user *p;

    if (sg_array_reserve(&u->v, &u->cap, u->n + 1, sizeof(*u->v)) < 0)
        return -1;
    p = u->v;
    memcpy(p[u->n].name, name, nlen);
    p[u->n].name[nlen] = '\0';
    snprintf(p[u->n].hash, sizeof(p[u->n].hash), "%s", hash);
    u->n++;
    return 0;
}

/* The checksum's length for the common $id$ methods (after the last '$'), 0 when not known. */
static size_t hash_tail_len(const char *h)
{
    static const struct {
        const char *id;
        size_t len;
    } known[] = {{"$1$", 22}, {"$5$", 43}, {"$6$", 86}, {"$y$", 43}, {"$gy$", 43}, {"$7$", 43}};

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strncmp(h, known[i].id, strlen(known[i].id)) == 0)
            return known[i].len;
    return h[0] == '$' && h[1] == '2' && strchr("abxy", h[2]) && h[3] == '$' ? 53 : 0; /* bcrypt */
}

/* Why the text after "user:" is not a crypt(3) hash, or NULL.  Cheap (no hashing: a reload runs
 * on the loop): the form $id$[params$]salt$checksum, a method libcrypt knows, a checksum of the
 * method's length.  A plaintext password is refused, never taken as one. */
static const char *hash_problem(const char *h)
{
    const char *last = strrchr(h, '$'), *p;
    unsigned dollars = 0;
    size_t want;

    if (h[0] != '$')
        return "not a crypt(3) hash (a plaintext password?)";
    for (p = h; *p; p++)
        dollars += *p == '$';
    if (dollars < 3 || !last[1])
        return "not a complete crypt(3) hash ($id$salt$hash)";
#ifdef CRYPT_SALT_OK
    if (crypt_checksalt(h) == CRYPT_SALT_INVALID ||
        crypt_checksalt(h) == CRYPT_SALT_METHOD_DISABLED)
        return "not a crypt(3) hash this system's libcrypt can check";
#endif
    want = hash_tail_len(h);
    if (want && strlen(last + 1) != want)
        return "not a complete crypt(3) hash (the hash part has the wrong length)";
    return NULL;
}

struct smtpd_users *smtpd_users_load(const char *path, char *why, size_t whysz)
{
    FILE *f = fopen(path, "r");
    struct smtpd_users *u;
    char line[512];
    unsigned lineno = 0;

    if (!f) {
        snprintf(why, whysz, "%s: %s", path, strerror(errno));
        return NULL;
    }
    u = calloc(1, sizeof(*u));
    while (u && fgets(line, sizeof(line), f)) {
        const char *problem = NULL;
        char *colon;
        size_t len = strcspn(line, "\r\n");

        lineno++;
        line[len] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        colon = strchr(line, ':');
        if (!colon || colon == line || (size_t)(colon - line) > USER_MAX ||
            strlen(colon + 1) > HASH_MAX || (problem = hash_problem(colon + 1))) {
            if (colon && colon != line && (size_t)(colon - line) <= USER_MAX && problem)
                snprintf(why, whysz,
                         "%s:%u: user %.*s: %s; each line is user:$id$salt$hash, e.g. from "
                         "`openssl passwd -6` or mkpasswd",
                         path, lineno, (int)(colon - line), line, problem);
            else
                snprintf(why, whysz, "%s:%u: expected user:crypt-hash (a $id$ hash)", path, lineno);
            smtpd_users_free(u);
            u = NULL;
            break;
        }
        if (users_add(u, line, (size_t)(colon - line), colon + 1) < 0) {
            snprintf(why, whysz, "out of memory");
            smtpd_users_free(u);
            u = NULL;
        }
    }
    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);
    if (!u && !why[0])
        snprintf(why, whysz, "out of memory");
    return u;
}

int smtpd_auth_base64_decode(const char *in, size_t len, char *out, size_t outsz)
{
    unsigned char tmp[1024];
    size_t pad = 0;
    int n;

    if (len == 0)
        return 0;
    if (len % 4 != 0 || len / 4 * 3 > sizeof(tmp))
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        int alnum =
            (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

        if (ch == '=' && i >= len - 2) {
            pad++;
            continue;
        }
        if (pad || !(alnum || ch == '+' || ch == '/'))
            return -1;
    }
    n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
    if (n < 0 || (size_t)n < pad || (size_t)n - pad > outsz)
        return -1;
    n -= (int)pad;
    memcpy(out, tmp, (size_t)n);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    return n;
}

/* ---- the check, off the loop thread ------------------------------------------- */

struct auth_work {
    uv_work_t req;
    struct session *s;
    char user[USER_MAX + 1];
    char pass[256];
    char hash[HASH_MAX + 1];
    int known;
    int ok;
};

static void auth_work_run(uv_work_t *req)
{
    struct auth_work *w = req->data;
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *h;

    if (!cd)
        return;
    h = crypt_r(w->pass, w->hash, cd);
    w->ok = w->known && h && h[0] != '*' && strlen(h) == strlen(w->hash) &&
            CRYPTO_memcmp(h, w->hash, strlen(h)) == 0;
    OPENSSL_cleanse(cd, sizeof(*cd));
    free(cd);
}

static void auth_work_done(uv_work_t *req, int status)
{
    struct auth_work *w = req->data;
    struct session *s = w->s;

    OPENSSL_cleanse(w->pass, sizeof(w->pass));
    smtpd_cmd_auth_done(s, status == 0 && w->ok, w->user);
    smtpd_session_unref(s);
    free(w);
}

void smtpd_auth_check(struct session *s, const char *user, const char *pass)
{
    struct smtpd_users *u = s->d->users;
    struct auth_work *w = calloc(1, sizeof(*w));

    if (!w) {
        smtpd_cmd_auth_done(s, 0, user);
        return;
    }
    w->req.data = w;
    w->s = s;
    snprintf(w->user, sizeof(w->user), "%s", user);
    snprintf(w->pass, sizeof(w->pass), "%s", pass);
    /* Unknown users cost the same hash as known ones. */
    snprintf(w->hash, sizeof(w->hash), "%s", u->n ? u->v[0].hash : "$6$x$");
    for (size_t i = 0; i < u->n; i++) {
        if (strcmp(u->v[i].name, user) == 0) {
            snprintf(w->hash, sizeof(w->hash), "%s", u->v[i].hash);
            w->known = 1;
            break;
        }
    }
    smtpd_session_ref(s);
    if (uv_queue_work(s->d->loop, &w->req, auth_work_run, auth_work_done) < 0) {
        smtpd_session_unref(s);
        free(w);
        smtpd_cmd_auth_done(s, 0, user);
    }
}
