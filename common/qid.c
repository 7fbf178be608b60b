/* qid.c - queue id allocation and its sortable base32hex text form. */
#include "qid.h"

#include <time.h>

static const char qid_digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

void qid_alloc_init(struct qid_alloc *a, uint64_t floor)
{
    a->last = floor;
}

uint64_t qid_next(struct qid_alloc *a, uint64_t now)
{
    a->last = now > a->last ? now : a->last + 1;
    return a->last;
}

void qid_format(uint64_t id, char *buf)
{
    /* 13 digits of 5 bits = 65 bits; the top digit holds the top 4 bits. */
    for (int i = QID_TEXT_LEN - 1; i >= 0; i--) {
        buf[i] = qid_digits[id & 31u];
        id >>= 5;
    }
    buf[QID_TEXT_LEN] = '\0';
}

static int qid_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'V')
        return c - 'A' + 10;
    return -1;
}

int qid_parse(const char *s, uint64_t *id)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < QID_TEXT_LEN; i++) {
        int d = qid_digit_value(s[i]);
        if (d < 0)
            return -1;
        if (i == 0 && d > 15)
            return -1; /* would not fit in 64 bits */
        v = (v << 5) | (uint64_t)d;
    }
    if (s[i] != '\0')
        return -1;
    *id = v;
    return 0;
}

uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
