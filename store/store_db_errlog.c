/* store_db_errlog.c - Berkeley DB's own error messages into the log, a storm of the same one (a full disk: one per page written) folded into one line and a count. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_db.h"

#define ERRLOG_WINDOW_US (60ull * 1000000) /* a repeat count at least once a minute */
#define ERRLOG_QUIET_US (5ull * 1000000)   /* and once a storm has been quiet this long */

#define ERRLOG_SHAPES 8 /* failures told apart at once (a full disk makes three or four) */

struct errlog_shape {
    char shape[160];    /* the message with its numbers as '#' */
    unsigned long more; /* of this shape since it was logged, not logged */
    uint64_t since_us, seen_us;
};

static pthread_mutex_t errlog_mu = PTHREAD_MUTEX_INITIALIZER;
static struct errlog_shape errlog_shapes[ERRLOG_SHAPES];

static uint64_t errlog_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A message with its numbers (page numbers, addresses, offsets) as '#': repeats of one failure
 * share a shape. */
static void errlog_shape(const char *msg, char *out, size_t outsz)
{
    size_t n = 0;

    for (const char *p = msg; *p && n + 1 < outsz;) {
        if (isdigit((unsigned char)*p)) {
            if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
                p += 2;
            while (isxdigit((unsigned char)*p))
                p++;
            out[n++] = '#';
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

/* Called with errlog_mu held: e's count as a line to log after the unlock ("" if none). */
static void errlog_take(struct errlog_shape *e, uint64_t now, char *line, size_t linesz)
{
    line[0] = '\0';
    if (e->more)
        snprintf(line, linesz, "berkeley db: %lu more like \"%.160s\"", e->more, e->shape);
    e->more = 0;
    e->since_us = now;
}

/* The slot of shape: its own, or the one seen longest ago (its count taken first). */
static struct errlog_shape *errlog_slot(const char *shape, uint64_t now, char *line, size_t linesz,
                                        int *found)
{
    struct errlog_shape *old = &errlog_shapes[0];

    line[0] = '\0';
    for (int i = 0; i < ERRLOG_SHAPES; i++) {
        if (strcmp(errlog_shapes[i].shape, shape) == 0) {
            *found = 1;
            return &errlog_shapes[i];
        }
        if (errlog_shapes[i].seen_us < old->seen_us)
            old = &errlog_shapes[i];
    }
    *found = 0;
    errlog_take(old, now, line, linesz);
    snprintf(old->shape, sizeof(old->shape), "%s", shape);
    return old;
}

void store_db_errlog(const char *msg)
{
    char shape[sizeof(errlog_shapes[0].shape)], pending[256];
    uint64_t now = errlog_now_us();
    struct errlog_shape *e;
    int found;

    errlog_shape(msg, shape, sizeof(shape));
    pthread_mutex_lock(&errlog_mu);
    e = errlog_slot(shape, now, pending, sizeof(pending), &found);
    e->seen_us = now;
    if (found && now - e->since_us < ERRLOG_WINDOW_US) {
        e->more++;
        pthread_mutex_unlock(&errlog_mu);
        return;
    }
    if (found)
        errlog_take(e, now, pending, sizeof(pending));
    e->since_us = now;
    pthread_mutex_unlock(&errlog_mu);
    if (pending[0])
        log_error("%s", pending);
    log_error("berkeley db: %s", msg);
}

void store_db_errlog_flush(void)
{
    char pending[ERRLOG_SHAPES][256];
    uint64_t now = errlog_now_us();

    pthread_mutex_lock(&errlog_mu);
    for (int i = 0; i < ERRLOG_SHAPES; i++) {
        struct errlog_shape *e = &errlog_shapes[i];

        pending[i][0] = '\0';
        if (e->more &&
            (now - e->seen_us >= ERRLOG_QUIET_US || now - e->since_us >= ERRLOG_WINDOW_US))
            errlog_take(e, now, pending[i], sizeof(pending[i]));
    }
    pthread_mutex_unlock(&errlog_mu);
    for (int i = 0; i < ERRLOG_SHAPES; i++)
        if (pending[i][0])
            log_error("%s", pending[i]);
}
