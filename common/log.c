/* log.c - one line per event to syslog or stderr, with the queue id first. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

static const char *log_program = "spoolgate";
static int log_to_stderr = 1;
static int log_startup_stderr; /* detached but not ready yet: warnings and errors to stderr too */
static enum log_level log_threshold = LOG_LVL_INFO;

static const struct {
    const char *name;
    enum log_level level;
    int syslog_priority;
} log_levels[] = {
    {"debug", LOG_LVL_DEBUG, LOG_DEBUG},    {"info", LOG_LVL_INFO, LOG_INFO},
    {"notice", LOG_LVL_NOTICE, LOG_NOTICE}, {"warning", LOG_LVL_WARNING, LOG_WARNING},
    {"error", LOG_LVL_ERROR, LOG_ERR},
};

static const struct {
    const char *name;
    int facility;
} log_facilities[] = {
    {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

static int log_facility_value(const char *name)
{
    for (size_t i = 0; name && i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++)
        if (strcasecmp(name, log_facilities[i].name) == 0)
            return log_facilities[i].facility;
    return LOG_MAIL;
}

void log_open(const char *program, int foreground, const char *facility)
{
    log_program = program;
    log_to_stderr = foreground;
    if (!foreground)
        openlog(program, LOG_PID | LOG_NDELAY, log_facility_value(facility));
}

int log_set_level(const char *name)
{
    for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
        if (strcasecmp(name, log_levels[i].name) == 0) {
            log_threshold = log_levels[i].level;
            return 0;
        }
    }
    return -1;
}

static void log_stderr_line(enum log_level lvl, const char *line)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld %s %s: %s\n", stamp, ts.tv_nsec / 1000000L, log_program,
            log_levels[lvl].name, line);
}

void log_vmsg(enum log_level lvl, const char *qid, const char *fmt, va_list ap)
{
    char line[2048];
    size_t off = 0;

    if (lvl < log_threshold)
        return;
    if (qid && *qid)
        off = (size_t)snprintf(line, sizeof(line), "%s: ", qid);
    vsnprintf(line + off, sizeof(line) - off, fmt, ap);
    /* One event, one line: never let a newline from input split it. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (log_to_stderr)
        log_stderr_line(lvl, line);
    else
        syslog(log_levels[lvl].syslog_priority, "%s", line);
    if (!log_to_stderr && log_startup_stderr && lvl >= LOG_LVL_WARNING)
        log_stderr_line(lvl, line);
}

void log_startup(int on)
{
    log_startup_stderr = on;
}

void log_msg(enum log_level lvl, const char *qid, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(lvl, qid, fmt, ap);
    va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(LOG_LVL_ERROR, NULL, fmt, ap);
    va_end(ap);
    exit(1);
}

void log_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(LOG_LVL_ERROR, NULL, fmt, ap);
    va_end(ap);
    abort();
}
