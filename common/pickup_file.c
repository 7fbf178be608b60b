/* pickup_file.c - one file of the local pickup directory written and parsed, every field checked as the store would. */
#include "pickup_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_envelope.h"

int pickup_dir_path(const struct sg_config *c, char *buf, size_t bufsz)
{
    int n = snprintf(buf, bufsz, "%s/%s", c->global.state_dir, PICKUP_DIR);

    return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}

int pickup_format_head(struct sg_buf *b, const struct pickup_msg *m)
{
    sg_buf_printf(b, "%s\nuid %lld\nsender %s\nret %u\nflags %u\nenvid %s\n", PICKUP_MAGIC, m->uid,
                  m->begin.sender, m->begin.ret, m->begin.flags, m->begin.envid);
    for (size_t i = 0; i < m->nrcpt; i++)
        sg_buf_printf(b, "rcpt %u %s\n", m->rcpts[i].notify, m->rcpts[i].addr);
    sg_buf_puts(b, "data\n");
    return b->failed ? -1 : 0;
}

static int bad(char *why, size_t whysz, const char *what, size_t line)
{
    snprintf(why, whysz, "line %zu: %s", line, what);
    return -1;
}

/* A decimal number in [0, max]: 0, or -1. */
static int number(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno || *end || *out > max ? -1 : 0;
}

static int add_rcpt(struct pickup_msg *m, const char *v, const char **err)
{
    unsigned long long notify;
    const char *sp = strchr(v, ' ');
    char num[16];

    if (!sp || (size_t)(sp - v) >= sizeof(num) || m->nrcpt >= PICKUP_RCPT_MAX)
        return *err = "bad rcpt line", -1;
    memcpy(num, v, (size_t)(sp - v));
    num[sp - v] = '\0';
    if (number(num, 0xf, &notify) < 0 || strlen(sp + 1) > IPC_ADDR_MAX ||
        smtp_envelope_rcpt_check(sp + 1, err) < 0)
        return *err = *err ? *err : "bad rcpt line", -1;
    if (m->nrcpt % 64 == 0) {
        void *n = realloc(m->rcpts, (m->nrcpt + 64) * sizeof(*m->rcpts));
        if (!n)
            return *err = "out of memory", -1;
        m->rcpts = n;
    }
    memset(&m->rcpts[m->nrcpt], 0, sizeof(m->rcpts[0]));
    snprintf(m->rcpts[m->nrcpt].addr, sizeof(m->rcpts[0].addr), "%s", sp + 1);
    m->rcpts[m->nrcpt++].notify = (uint32_t)notify;
    return 0;
}

/* One "key value" line of the head: 0, or -1 with *err. */
static int head_line(struct pickup_msg *m, const char *key, const char *v, const char **err)
{
    unsigned long long n;

    *err = NULL;
    if (strcmp(key, "uid") == 0)
        return number(v, 0xffffffffull, &n) < 0 ? (*err = "bad uid", -1)
                                                : (m->uid = (long long)n, 0);
    if (strcmp(key, "ret") == 0)
        return number(v, IPC_RET_HDRS, &n) < 0 ? (*err = "bad ret", -1)
                                               : (m->begin.ret = (uint32_t)n, 0);
    if (strcmp(key, "flags") == 0)
        return number(v, IPC_FLAG_8BITMIME | IPC_FLAG_SMTPUTF8, &n) < 0
                   ? (*err = "bad flags", -1)
                   : (m->begin.flags = (uint32_t)n, 0);
    if (strcmp(key, "sender") == 0) {
        if (strlen(v) > IPC_ADDR_MAX || smtp_envelope_sender_check(v, err) < 0)
            return *err = *err ? *err : "sender too long", -1;
        snprintf(m->begin.sender, sizeof(m->begin.sender), "%s", v);
        return 0;
    }
    if (strcmp(key, "envid") == 0) {
        if (strlen(v) > IPC_ENVID_MAX || smtp_envelope_envid_check(v, err) < 0)
            return *err = *err ? *err : "envid too long", -1;
        snprintf(m->begin.envid, sizeof(m->begin.envid), "%s", v);
        return 0;
    }
    if (strcmp(key, "rcpt") == 0)
        return add_rcpt(m, v, err);
    return *err = "unknown field", -1;
}

int pickup_parse(const char *buf, size_t len, struct pickup_msg *m, char *why, size_t whysz)
{
    size_t off = 0, line = 0;
    char text[IPC_ADDR_MAX + 64];

    memset(m, 0, sizeof(*m));
    m->uid = -1;
    for (;;) {
        const char *lf = memchr(buf + off, '\n', len - off), *err;
        size_t n = lf ? (size_t)(lf - (buf + off)) : 0;
        char *sp;

        line++;
        if (!lf || n >= sizeof(text) || memchr(buf + off, '\0', n))
            return pickup_msg_free(m), bad(why, whysz, lf ? "line too long" : "no data line", line);
        memcpy(text, buf + off, n);
        text[n] = '\0';
        off += n + 1;
        if (line == 1 && strcmp(text, PICKUP_MAGIC) != 0)
            return pickup_msg_free(m), bad(why, whysz, "not a pickup file", line);
        if (line == 1)
            continue;
        if (strcmp(text, "data") == 0)
            break;
        if (!(sp = strchr(text, ' ')))
            return pickup_msg_free(m), bad(why, whysz, "no value", line);
        *sp = '\0';
        if (head_line(m, text, sp + 1, &err) < 0)
            return pickup_msg_free(m), bad(why, whysz, err, line);
    }
    if (m->nrcpt == 0)
        return pickup_msg_free(m), bad(why, whysz, "no recipient", line);
    m->body = buf + off;
    m->body_len = len - off;
    return 0;
}

void pickup_msg_free(struct pickup_msg *m)
{
    free(m->rcpts);
    m->rcpts = NULL;
    m->nrcpt = 0;
}
