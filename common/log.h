/* log.h - one line per event to syslog or stderr; queue id first where there is one. */
#ifndef SPOOLGATE_LOG_H
#define SPOOLGATE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_NOTICE, LOG_LVL_WARNING, LOG_LVL_ERROR };

/* program: name in every line; foreground: stderr instead of syslog. */
void log_open(const char *program, int foreground, const char *facility);
/* on = 1: a detached daemon still starting, whose stderr is the starter's: warnings and
 * errors go there as well as to syslog.  on = 0 once it is ready. */
void log_startup(int on);
/* "debug".."error"; unknown names leave the level unchanged and return -1. */
int log_set_level(const char *name);

/* qid may be NULL.  The line is "<qid>: <text>" when a qid is given. */
void log_msg(enum log_level lvl, const char *qid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level lvl, const char *qid, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_debug(...) log_msg(LOG_LVL_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARNING, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, NULL, __VA_ARGS__)

/* Environment trouble we cannot run without: log and exit(1). */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A broken invariant (a bug): log and abort(). */
void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
