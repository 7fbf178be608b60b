/* config.h - spoolgate.ini: one table of typed, ranged, documented keys per section. */
#ifndef SPOOLGATE_CONFIG_H
#define SPOOLGATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Where the daemons look when no -c option is given.  If that file does
 * not exist, the embedded default config is used (loopback, state under
 * ./spoolgate-state). */
/* The name config_load gives the embedded default (no file). */
#define CONFIG_EMBEDDED_NAME "(embedded default)"

#ifndef SPOOLGATE_CONFIG_PATH
#define SPOOLGATE_CONFIG_PATH "/etc/spoolgate/spoolgate.ini"
#endif

enum cfg_type {
    CFG_INT,      /* decimal integer in [min, max] */
    CFG_BOOL,     /* yes/no, true/false, on/off, 1/0 */
    CFG_STRING,   /* any text up to max bytes (max 0 = 4096) */
    CFG_PATH,     /* a file system path; made absolute when loaded */
    CFG_SIZE,     /* bytes, with optional k/m/g suffix (1024-based), in [min, max] */
    CFG_DURATION, /* seconds, with optional s/m/h/d suffix, in [min, max] */
    CFG_ENUM,     /* one of the '|' separated words in choices */
};

struct cfg_global {
    char *state_dir;  /* everything lives below this unless set otherwise */
    char *socket_dir; /* "" -> <state_dir>/run */
    char *store;      /* "unix:PATH ..."; "" -> <socket_dir>/store.sock */
    char *hostname;   /* "" -> gethostname() */
    char *myorigin;   /* domain for local names without one; "" -> hostname */
    char *log_level;  /* debug|info|notice|warning|error */
    char *syslog_facility;
    /* Least privilege: the unprivileged user each daemon runs as, and the group
     * whose members may connect to the internal sockets. */
    char *store_user, *smtpd_user, *router_user, *gateway_user;
    char *ipc_group;
    /* IPC over TCP between hosts: this host's certificate and key, the CA of all of them. */
    char *ipc_tls_cert, *ipc_tls_key, *ipc_tls_ca;
};

struct cfg_store {
    char *db_dir;                  /* "" -> <state_dir>/store */
    long long cache_size;          /* BDB mpool */
    long long log_buffer_size;     /* BDB in-memory log buffer */
    long long log_file_size;       /* BDB log file size */
    long long checkpoint_interval; /* seconds */
    long long chunk_size;          /* body chunk stored per record */
    long long body_bucket_size;    /* body octets per body database before the next is begun */
    long long body_bucket_age;     /* seconds a body database takes new bodies */
    long long body_bucket_keep;    /* seconds after which queued bodies move to body.db */
    long long staging_memory;      /* body bytes kept in memory per submission before spilling */
    long long max_message_size;
    long long max_clients;
    long long reserved_clients; /* of max_clients, never given to submit-only clients */
    long long max_staging;      /* body octets staged by all submissions together */
    long long min_free_space;   /* spilling stops below this much free space */
    long long worker_threads;
    long long deadlock_retries;
    long long due_batch;         /* default limit of one due-work answer */
    long long origin_lifetime;   /* seconds a de-duplication key is kept */
    long long replication;       /* bool: Replication Manager (store_repl.c) */
    char *repl_site;             /* this site's name in repl_group */
    char *repl_group;            /* "NAME=ADDR:PORT ..." */
    char *repl_ipc;              /* "NAME=STORE-ADDRESS ...": where clients reach each site */
    long long repl_create_group; /* bool: this site founds the group at its first start */
    long long repl_priority;
    long long repl_ack_timeout;      /* seconds */
    long long repl_heartbeat;        /* seconds */
    long long repl_election_timeout; /* seconds */
    char *ipc_listen;                /* "ADDR:PORT ...": IPC over TCP with mutual TLS */
    char *ipc_tls_peers;             /* "NAME=ROLE ...": who may use ipc_listen */
};

struct cfg_smtpd {
    char *listen;            /* relay/MX listeners: "addr:port [v6]:port ..." */
    char *submission_listen; /* submission listeners (AUTH required before MAIL) */
    long long max_message_size;
    long long max_recipients;
    long long max_errors;
    long long max_received; /* more Received fields than this: mail loop */
    long long max_sessions;
    long long max_store_connections;   /* submission connections to the store at once */
    long long store_wait_timeout;      /* longest wait for one of them */
    long long max_sessions_per_client; /* outside mynetworks */
    /* Per client address outside mynetworks, over client_rate_interval (0: no limit). */
    long long client_rate_interval;
    long long client_connection_rate_limit;
    long long client_message_rate_limit;   /* MAIL commands */
    long long client_recipient_rate_limit; /* RCPT commands */
    long long client_auth_failure_rate_limit;
    long long client_error_rate_limit; /* error replies */
    long long client_rate_table_size;  /* addresses tracked at most */
    long long helo_check;              /* bool: EHLO/HELO names must be domains or literals */
    long long command_timeout;
    long long data_timeout;
    long long data_min_rate; /* octets/s that extend the DATA deadline */
    long long dot_timeout;
    char *mynetworks;    /* CIDR list allowed to relay */
    char *local_domains; /* domains we accept mail for from anyone */
    char
        *postmaster; /* the address <postmaster> is taken as; "" -> postmaster@first local domain */
    char *tls_cert_file; /* "" -> no STARTTLS */
    char *tls_key_file;
    char *auth_users_file; /* user:crypt-hash lines; "" -> no AUTH */
};

struct cfg_router {
    char *transport_map;     /* file of routes; "" -> none */
    char *relayhost;         /* "[host]:port" smarthost; "" -> MX */
    char *relayhost_auth;    /* credentials name in smarthost_secrets; "" -> no AUTH */
    char *smarthost_secrets; /* file of credentials names, users and passwords; "" -> none */
    char *alias_map;         /* recipient -> addresses, applied before routing; "" -> none */
    long long alias_expansion_limit; /* addresses one recipient may expand to */
    char *sender_canonical_map;      /* sender -> sender for outbound SMTP/LMTP; "" -> none */
    char *dns_servers;               /* "ip[:port],..." ; "" -> resolv.conf */
    long long smtp_port;
    long long convert_8bit; /* bool: 8-bit to a server without 8BITMIME goes quoted-printable */
    long long retry_first;
    long long retry_max;
    long long max_queue_lifetime;
    long long delay_warning;
    long long due_interval;
    long long max_connections;
    long long max_per_destination;
    long long connect_timeout;
    long long greeting_timeout;
    long long command_timeout;
    long long data_timeout;
    long long block_timeout;
    long long dot_timeout;
    char *tls_policy; /* none|may|verify */
    char *tls_ca_file;
    long long dsn_return_limit;
    long long active_limit;          /* recipients in the router's memory at most */
    char *postmaster;                /* told of undeliverable DSNs; "" -> postmaster@<hostname> */
    long long bounce_queue_lifetime; /* an undeliverable DSN is removed after this */
};

struct cfg_gateway {
    char *domain;    /* the postoffice's mail domain; "" -> no postoffice */
    char *share;     /* local path of the share (a mounted share) */
    char *sftp_host; /* set: the share is reached over SFTP instead */
    long long sftp_port;
    char *sftp_user;
    char *sftp_key;                /* private key file */
    char *sftp_known_hosts;        /* the server's host key must be in here */
    char *sftp_root;               /* the share's directory on the server */
    long long poll_interval;       /* OUT/ and the directory are looked at this often */
    long long open_retry_interval; /* a failed share access is retried after this */
    long long max_open_retries;    /* failed accesses before a recipient fails */
    long long max_deliveries;      /* transfer files written into P1/ at once */
    long long share_timeout;       /* a share operation with no answer this long hangs */
    long long deliver_timeout;     /* the router's wait for a delivery's answer */
};

struct sg_config {
    char *source; /* file it came from, or "(embedded default)" */
    struct cfg_global global;
    struct cfg_store store;
    struct cfg_smtpd smtpd;
    struct cfg_router router;
    struct cfg_gateway gateway;
};

struct cfg_key {
    const char *section;
    const char *name;
    enum cfg_type type;
    const char *def;     /* default, as it would be written in the file */
    long long min, max;  /* INT/SIZE/DURATION range; STRING/PATH max length */
    const char *choices; /* ENUM only */
    size_t offset;       /* into struct sg_config */
    const char *doc;
};

/* The table of every key, terminated by an entry with name NULL. */
extern const struct cfg_key cfg_keys[];
/* Every known section name, NULL-terminated. */
extern const char *const cfg_sections[];
/* The config text used when no file exists. */
extern const char cfg_embedded_default[];

/* Pure value parsers (unit-tested and fuzzed directly).  Return 0, or -1 with
 * a reason in why. */
int cfg_parse_int(const char *s, long long min, long long max, long long *out, char *why,
                  size_t whysz);
int cfg_parse_size(const char *s, long long min, long long max, long long *out, char *why,
                   size_t whysz);
int cfg_parse_duration(const char *s, long long min, long long max, long long *out, char *why,
                       size_t whysz);
int cfg_parse_bool(const char *s, int *out, char *why, size_t whysz);
int cfg_parse_enum(const char *s, const char *choices, char *why, size_t whysz);

/* Parse config text (name is used in messages as the file name).  On error
 * returns NULL and writes every problem, one "name:line: key: reason" per
 * line, into err. */
struct sg_config *config_parse_text(const char *text, const char *name, char *err, size_t errsz);
/* Load a file; path NULL means SPOOLGATE_CONFIG_PATH if it exists, else the
 * embedded default. */
struct sg_config *config_load(const char *path, char *err, size_t errsz);
/* Settings that are valid one by one but do not fit together (the store's connections
 * against what smtpd may take): a sentence into buf, 1; or 0. */
int config_warning(const struct sg_config *c, char *buf, size_t bufsz);
void config_free(struct sg_config *c);
/* Print every key with its value (all = 1) or only those differing from
 * the default (all = 0), in ini form with the doc as comments. */
void config_dump(FILE *out, const struct sg_config *c, int all);
/* The keys of the comma-separated sections or keys ("smtpd,global,router.dns_servers") whose values differ between a and
 * b, leaving out those in applied (NULL-terminated "section.key" names): "gateway.share,
 * gateway.sftp_host" in out (cut to outsz).  Returns how many.  For a reload to say which
 * changes wait for the next start. */
size_t config_changed(const struct sg_config *a, const struct sg_config *b, const char *sections,
                      const char *const *applied, char *out, size_t outsz);

/* Derived paths (owned by the config). */
const char *config_socket_dir(const struct sg_config *c);
const char *config_store_dir(const struct sg_config *c);
/* <socket_dir>/<name>.sock into buf; -1 if it does not fit a sockaddr_un. */
int config_socket_path(const struct sg_config *c, const char *name, char *buf, size_t bufsz);

#endif
