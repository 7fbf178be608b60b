/* spoolctl.h - what spoolctl's files share: exit codes, the connection, options, the JSON writer. */
#ifndef SPOOLGATE_SPOOLCTL_H
#define SPOOLGATE_SPOOLCTL_H

#include <stdint.h>
#include <stdio.h>

#include "ipc.h"
#include "ipc_client.h"

/* Exit codes (sysexits.h), documented in doc/SPOOLCTL.md. */
#define SPOOLCTL_EX_OK 0
#define SPOOLCTL_EX_FAIL 1      /* the store refused or answered what cannot be read */
#define SPOOLCTL_EX_USAGE 64    /* EX_USAGE: bad command line */
#define SPOOLCTL_EX_NOTFOUND 67 /* EX_NOUSER: a message named is not there (or not paused) */
#define SPOOLCTL_EX_TEMPFAIL 75 /* EX_TEMPFAIL: the store is unavailable */

#define SPOOLCTL_RECV_TIMEOUT_MS 120000

/* Options of a command: the filter, the output, the limit. */
struct spoolctl_opts {
    struct ipc_list_filter lf; /* filter, match, limit */
    int json;
    int verify;   /* stats --verify */
    int no_age;   /* metrics --no-age */
    int filtered; /* a filter option was given */
    int nargs;
    char **args; /* what follows the options */
};

/* spoolctl.c */
/* Connect to the store (once): every command calls it after its options are checked. */
void spoolctl_connect(struct ipc_client *c);
/* Where the store is: -s, or the config's (a list for a replicated store). */
const char *spoolctl_where(void);
/* Exit with the code for the client's error: the store unavailable -> 75. */
void spoolctl_fail(struct ipc_client *c) __attribute__((noreturn));
/* Exit 64 after printing why and the usage. */
void spoolctl_usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Next frame; an ERROR ends the program with its code (not found 67, temporary 75, other 1). */
void spoolctl_recv(struct ipc_client *c, struct ipc_reader *r);
/* Next frame; an ERROR is returned as its exit code (0 when r is no ERROR), printed. */
int spoolctl_recv_soft(struct ipc_client *c, struct ipc_reader *r, const char *what);
void spoolctl_send(struct ipc_client *c);
int spoolctl_exit_code(uint32_t ipc_error);
const char *spoolctl_iso_time(uint64_t us, char *buf, size_t bufsz);

/* spoolctl_repl.c: every site of the store's address list asked for its view of the group. */
int spoolctl_cmd_repl(int argc, char **argv);
/* spoolctl_repl_remove.c: repl remove SITE, asked of the master. */
int spoolctl_cmd_repl_remove(struct ipc_client *c, int argc, char **argv);

/* spoolctl_opts.c: parse argv (argv[0] the command) into o; which: the options allowed,
 * a string of letters (f filters, j --json, l --limit, m --match, v --verify, a --no-age).
 * A bad or unknown option exits 64. */
void spoolctl_opts_parse(int argc, char **argv, const char *which, struct spoolctl_opts *o);
/* "30", "90s", "15m", "2h", "3d", "1w": seconds, or -1. */
long long spoolctl_duration(const char *s);

/* spoolctl_json.c: JSON text on stdout, strings escaped (RFC 8259; bytes that are not UTF-8
 * as \u00XX). */
void spoolctl_json_str(FILE *f, const char *s);
/* "key": with the separator before it when not first; *first is cleared. */
void spoolctl_json_key(FILE *f, int *first, const char *key);
void spoolctl_json_kv_str(FILE *f, int *first, const char *key, const char *value);
void spoolctl_json_kv_u64(FILE *f, int *first, const char *key, uint64_t value);

/* The commands (spoolctl_list.c, spoolctl_admin.c, spoolctl_info.c, spoolctl_metrics.c). */
int spoolctl_cmd_list(struct ipc_client *c, int argc, char **argv);
int spoolctl_cmd_show(struct ipc_client *c, int argc, char **argv);
int spoolctl_cmd_cat(struct ipc_client *c, int argc, char **argv);
int spoolctl_cmd_due(struct ipc_client *c, int argc, char **argv);
int spoolctl_cmd_admin(struct ipc_client *c, uint32_t op, int argc, char **argv);
int spoolctl_cmd_pause(struct ipc_client *c, uint16_t type, int argc, char **argv);
int spoolctl_cmd_stats(struct ipc_client *c, int argc, char **argv);
int spoolctl_cmd_summary(struct ipc_client *c, int argc, char **argv);
int spoolctl_cmd_status(struct ipc_client *c, int argc, char **argv);
int spoolctl_cmd_metrics(struct ipc_client *c, int argc, char **argv);

/* spoolctl_info.c: STATS (exits on an error); the queue's shape (IPC_SHAPE) under filter f, row by row to fn. */
void spoolctl_get_stats(struct ipc_client *c, struct ipc_stats *s);
typedef void (*spoolctl_shape_fn)(const struct ipc_shape_row *row, void *arg);
void spoolctl_shape_fetch(struct ipc_client *c, const struct ipc_list_filter *f,
                          spoolctl_shape_fn fn, void *arg);

/* Ids of an id command: the arguments, "-" reading ids from stdin (white space separated).
 * fn is called with each; a malformed id exits 64 before any is done. */
typedef int (*spoolctl_id_fn)(struct ipc_client *c, const char *qid, void *arg);
int spoolctl_each_id(struct ipc_client *c, int nargs, char **args, spoolctl_id_fn fn, void *arg);

#endif
