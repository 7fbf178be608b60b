/* config_keys.c - the table of every spoolgate.ini key: type, default, range, documentation. */
#include <stddef.h>

#include "config.h"

#define K 1024LL
#define M (1024LL * 1024LL)
#define G (1024LL * 1024LL * 1024LL)
#define G_(f) offsetof(struct sg_config, global.f)
#define S_(f) offsetof(struct sg_config, store.f)

const struct cfg_key cfg_keys[] = {
    {"global", "state_dir", CFG_PATH, "./spoolgate-state", 0, 1024, NULL, G_(state_dir),
     "directory under which all state lives (relative paths are taken from the cwd at start)"},
    {"global", "socket_dir", CFG_PATH, "", 0, 1024, NULL, G_(socket_dir),
     "directory of the Unix sockets between the daemons (empty: <state_dir>/run)"},
    {"global", "hostname", CFG_STRING, "", 0, 255, NULL, G_(hostname),
     "our host name in greetings and headers (empty: the system host name)"},
    {"global", "log_level", CFG_ENUM, "info", 0, 0, "debug|info|notice|warning|error",
     G_(log_level), "least important level that is logged"},
    {"global", "syslog_facility", CFG_ENUM, "mail", 0, 0,
     "mail|daemon|local0|local1|local2|local3|local4|local5|local6|local7",
     G_(syslog_facility), "syslog facility when not in the foreground"},

    {"store", "db_dir", CFG_PATH, "", 0, 1024, NULL, S_(db_dir),
     "Berkeley DB environment directory (empty: <state_dir>/store)"},
    {"store", "cache_size", CFG_SIZE, "64m", 1 * M, 16 * G, NULL, S_(cache_size),
     "Berkeley DB memory pool size"},
    {"store", "log_buffer_size", CFG_SIZE, "8m", 256 * K, 1 * G, NULL, S_(log_buffer_size),
     "Berkeley DB in-memory log buffer"},
    {"store", "log_file_size", CFG_SIZE, "64m", 1 * M, 1 * G, NULL, S_(log_file_size),
     "size of one Berkeley DB log file"},
    {"store", "checkpoint_interval", CFG_DURATION, "60s", 1, 3600, NULL,
     S_(checkpoint_interval), "time between checkpoints (log files before one are removed)"},
    {"store", "chunk_size", CFG_SIZE, "64k", 4 * K, 256 * K, NULL, S_(chunk_size),
     "bytes of message body per stored record"},
    {"store", "staging_memory", CFG_SIZE, "64k", 0, 16 * M, NULL, S_(staging_memory),
     "body bytes of one submission kept in memory before spilling to a file"},
    {"store", "max_message_size", CFG_SIZE, "64m", 1 * K, 2 * G, NULL, S_(max_message_size),
     "largest message the store accepts"},
    {"store", "max_clients", CFG_INT, "4096", 1, 1000000, NULL, S_(max_clients),
     "most client connections at once"},
    {"store", "worker_threads", CFG_INT, "8", 1, 128, NULL, S_(worker_threads),
     "threads that run Berkeley DB work (concurrent commits share log flushes)"},
    {"store", "deadlock_retries", CFG_INT, "16", 1, 1000, NULL, S_(deadlock_retries),
     "times a transaction chosen as a deadlock victim is retried"},
    {"store", "due_batch", CFG_INT, "1000", 1, 100000, NULL, S_(due_batch),
     "most recipients in one due-work answer"},
    {NULL, NULL, CFG_INT, NULL, 0, 0, NULL, 0, NULL},
};

/* Sections that exist; keys of the later daemons join the table with them. */
const char *const cfg_sections[] = {"global", "store", "smtpd", "router", "gateway", NULL};

const char cfg_embedded_default[] =
    "; spoolgate embedded default: everything on loopback, state under one directory.\n"
    "[global]\n"
    "state_dir = ./spoolgate-state\n"
    "\n"
    "[store]\n"
    "checkpoint_interval = 60s\n";
