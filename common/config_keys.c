/* config_keys.c - the table of every spoolgate.ini key: type, default, range, documentation. */
#include <stddef.h>

#include "config.h"
#include "transport_map.h"

#define K 1024LL
#define M (1024LL * 1024LL)
#define G (1024LL * 1024LL * 1024LL)
#define G_(f) offsetof(struct sg_config, global.f)
#define S_(f) offsetof(struct sg_config, store.f)
#define D_(f) offsetof(struct sg_config, smtpd.f)
#define W_(f) offsetof(struct sg_config, gateway.f)
#define R_(f) offsetof(struct sg_config, router.f)

const struct cfg_key cfg_keys[] = {
    {"global", "state_dir", CFG_PATH, "./spoolgate-state", 0, 1024, NULL, G_(state_dir),
     "directory under which all state lives (relative paths are taken from the cwd at start)"},
    {"global", "socket_dir", CFG_PATH, "", 0, 1024, NULL, G_(socket_dir),
     "directory of the Unix sockets between the daemons (empty: <state_dir>/run)"},
    {"global", "store", CFG_STRING, "", 0, 1024, NULL, G_(store),
     "where the mail store is: unix:PATH or tcp:ADDRESS:PORT (mutual TLS, see ipc_tls_cert), "
     "several for a replicated store: whichever is master serves; empty: "
     "<socket_dir>/store.sock)"},
    {"global", "ipc_tls_cert", CFG_PATH, "", 0, 1024, NULL, G_(ipc_tls_cert),
     "this host's certificate for IPC over TCP (PEM chain): a store's tcp: listeners present it, "
     "and a client connecting to a tcp: store address presents it"},
    {"global", "ipc_tls_key", CFG_PATH, "", 0, 1024, NULL, G_(ipc_tls_key),
     "the private key of ipc_tls_cert"},
    {"global", "ipc_tls_ca", CFG_PATH, "", 0, 1024, NULL, G_(ipc_tls_ca),
     "the CA that signs every host's IPC certificate: both ends of a tcp: connection must chain "
     "to it; a client also checks the store's certificate names the address it connected to"},
    {"global", "hostname", CFG_STRING, "", 0, 255, NULL, G_(hostname),
     "our host name in greetings and headers (empty: the system host name)"},
    {"global", "myorigin", CFG_STRING, "", 0, 255, NULL, G_(myorigin),
     "domain spoolgate-sendmail appends to an address without one (\"root\"; empty: the host "
     "name)"},
    {"global", "log_level", CFG_ENUM, "info", 0, 0, "debug|info|notice|warning|error",
     G_(log_level), "least important level that is logged"},
    {"global", "syslog_facility", CFG_ENUM, "mail", 0, 0,
     "mail|daemon|local0|local1|local2|local3|local4|local5|local6|local7", G_(syslog_facility),
     "syslog facility when not in the foreground"},
    {"global", "store_user", CFG_STRING, "spoolgate-store", 0, 32, NULL, G_(store_user),
     "user spoolgate-store runs as once started as root; it owns the store directory"},
    {"global", "smtpd_user", CFG_STRING, "spoolgate-smtpd", 0, 32, NULL, G_(smtpd_user),
     "user spoolgate-smtpd runs as after binding its ports (it must read the TLS key)"},
    {"global", "router_user", CFG_STRING, "spoolgate-router", 0, 32, NULL, G_(router_user),
     "user spoolgate-router runs as"},
    {"global", "gateway_user", CFG_STRING, "spoolgate-gateway", 0, 32, NULL, G_(gateway_user),
     "user spoolgate-gateway runs as; the share is read and written as this user"},
    {"global", "ipc_group", CFG_STRING, "spoolgate", 0, 32, NULL, G_(ipc_group),
     "group of the internal sockets (store.sock, gateway.sock): the daemons' users are members"},

    {"store", "db_dir", CFG_PATH, "", 0, 1024, NULL, S_(db_dir),
     "Berkeley DB environment directory (empty: <state_dir>/store)"},
    {"store", "cache_size", CFG_SIZE, "256m", 1 * M, 16 * G, NULL, S_(cache_size),
     "Berkeley DB memory pool size"},
    {"store", "log_buffer_size", CFG_SIZE, "8m", 256 * K, 1 * G, NULL, S_(log_buffer_size),
     "Berkeley DB in-memory log buffer"},
    {"store", "log_file_size", CFG_SIZE, "64m", 1 * M, 1 * G, NULL, S_(log_file_size),
     "size of one Berkeley DB log file"},
    {"store", "checkpoint_interval", CFG_DURATION, "60s", 1, 3600, NULL, S_(checkpoint_interval),
     "time between checkpoints (log files before one are removed)"},
    {"store", "chunk_size", CFG_SIZE, "64k", 4 * K, 256 * K, NULL, S_(chunk_size),
     "bytes of message body per stored record (fitted to whole 64 KiB overflow pages)"},
    {"store", "body_bucket_size", CFG_SIZE, "16m", 1 * M, 1 * G, NULL, S_(body_bucket_size),
     "new bodies go to one body database until it holds this much; removed whole once empty"},
    {"store", "body_bucket_age", CFG_DURATION, "5s", 1, 3600, NULL, S_(body_bucket_age),
     "and for at most this long"},
    {"store", "body_bucket_keep", CFG_DURATION, "30s", 1, 86400, NULL, S_(body_bucket_keep),
     "bodies still queued this long after their body database was closed move to body.db"},
    {"store", "staging_memory", CFG_SIZE, "1m", 0, 16 * M, NULL, S_(staging_memory),
     "body bytes of one submission kept in memory before spilling to a file"},
    {"store", "max_message_size", CFG_SIZE, "64m", 1 * K, 2 * G, NULL, S_(max_message_size),
     "largest message the store accepts"},
    {"store", "max_clients", CFG_INT, "4096", 1, 1000000, NULL, S_(max_clients),
     "most client connections at once"},
    {"store", "reserved_clients", CFG_INT, "64", 0, 1000000, NULL, S_(reserved_clients),
     "of max_clients, kept for clients that do more than submit (router, spoolctl, gateway)"},
    {"store", "max_staging", CFG_SIZE, "1g", 64 * K, 1024 * G, NULL, S_(max_staging),
     "body octets staged by all submissions in progress together; past it 452 4.3.1"},
    {"store", "min_free_space", CFG_SIZE, "64m", 0, 1024 * G, NULL, S_(min_free_space),
     "free space kept on the staging file system; a spill below it is refused (452 4.3.1)"},
    {"store", "worker_threads", CFG_INT, "8", 1, 128, NULL, S_(worker_threads),
     "threads that run Berkeley DB work (concurrent commits share log flushes)"},
    {"store", "deadlock_retries", CFG_INT, "16", 1, 1000, NULL, S_(deadlock_retries),
     "times a transaction chosen as a deadlock victim is retried"},
    {"store", "origin_lifetime", CFG_DURATION, "10d", 1, 365 * 86400, NULL, S_(origin_lifetime),
     "how long a submitter's de-duplication key (a postoffice file's, a DSN's) is kept after its "
     "message arrived; keep it above router.max_queue_lifetime"},
    {"store", "due_batch", CFG_INT, "1000", 1, 100000, NULL, S_(due_batch),
     "most recipients in one due-work answer"},
    {"store", "replication", CFG_BOOL, "no", 0, 0, NULL, S_(replication),
     "replicate the store with Berkeley DB's Replication Manager to the sites of repl_group "
     "(doc/REPLICATION.md)"},
    {"store", "repl_site", CFG_STRING, "", 0, 32, NULL, S_(repl_site),
     "this site's name in repl_group"},
    {"store", "repl_group", CFG_STRING, "", 0, 1024, NULL, S_(repl_group),
     "every site of the group, this one included: NAME=ADDRESS:PORT ... (at least three; "
     "numeric addresses, bound as given)"},
    {"store", "repl_ipc", CFG_STRING, "", 0, 1024, NULL, S_(repl_ipc),
     "where clients reach each site's store: NAME=ADDRESS ..., ADDRESS as in global.store "
     "(tcp:ADDRESS:PORT, or a socket path); a site that is not master names the master's to "
     "its clients, which go there next (empty: they walk their list)"},
    {"store", "repl_create_group", CFG_BOOL, "no", 0, 0, NULL, S_(repl_create_group),
     "yes on one site for the group's very first start only: it creates the group, the others "
     "join through it (a site from an empty directory with this set would found a new group)"},
    {"store", "repl_priority", CFG_INT, "100", 1, 1000, NULL, S_(repl_priority),
     "this site's election priority (the highest up-to-date site is elected)"},
    {"store", "repl_ack_timeout", CFG_DURATION, "2s", 1, 60, NULL, S_(repl_ack_timeout),
     "how long a commit waits for a quorum of sites to acknowledge it; then the client is told "
     "to try again (451 4.3.0)"},
    {"store", "repl_heartbeat", CFG_DURATION, "1s", 1, 60, NULL, S_(repl_heartbeat),
     "the master's heartbeat interval; replicas call an election after three missed"},
    {"store", "repl_election_timeout", CFG_DURATION, "2s", 1, 60, NULL, S_(repl_election_timeout),
     "how long an election waits for votes before it is retried"},
    {"store", "ipc_listen", CFG_STRING, "", 0, 1024, NULL, S_(ipc_listen),
     "IPC over TCP with mutual TLS for daemons and tools on other hosts: ADDRESS:PORT ... "
     "([v6]:port for IPv6; empty: the Unix socket only)"},
    {"store", "ipc_tls_peers", CFG_STRING, "", 0, 1024, NULL, S_(ipc_tls_peers),
     "who may use ipc_listen: NAME=ROLE ..., NAME a DNS name (or CN) of the client's "
     "certificate, ROLE one of smtpd, router, gateway, admin (a name may be given with "
     "several roles)"},
    {"smtpd", "listen", CFG_STRING, "0.0.0.0:25 [::]:25", 0, 1024, NULL, D_(listen),
     "relay/MX listeners, space separated addr:port ([v6]:port for IPv6); empty: none"},
    {"smtpd", "submission_listen", CFG_STRING, "0.0.0.0:587 [::]:587", 0, 1024, NULL,
     D_(submission_listen),
     "submission listeners (AUTH over TLS required before MAIL); empty: none"},
    {"smtpd", "max_message_size", CFG_SIZE, "32m", 1 * K, 2 * G, NULL, D_(max_message_size),
     "largest message accepted (advertised in SIZE); keep it below store.max_message_size"},
    {"smtpd", "max_recipients", CFG_INT, "1000", 1, 100000, NULL, D_(max_recipients),
     "recipients per message; more get 452 4.5.3"},
    {"smtpd", "max_errors", CFG_INT, "10", 1, 1000, NULL, D_(max_errors),
     "error replies in one session before it is closed with 421"},
    {"smtpd", "max_received", CFG_INT, "100", 1, 1000, NULL, D_(max_received),
     "more Received header fields than this: refused as a mail loop (554 5.4.6)"},
    {"smtpd", "max_sessions", CFG_INT, "20000", 1, 1000000, NULL, D_(max_sessions),
     "concurrent SMTP sessions; more get 421 at connect"},
    {"smtpd", "max_store_connections", CFG_INT, "256", 1, 100000, NULL, D_(max_store_connections),
     "submission connections to the store at once; more sessions wait their turn (keep it below "
     "store.max_clients - store.reserved_clients)"},
    {"smtpd", "store_wait_timeout", CFG_DURATION, "1m", 1, 86400, NULL, D_(store_wait_timeout),
     "longest wait of a message for a free store connection (within its deadline); then 451 4.3.2"},
    {"smtpd", "max_sessions_per_client", CFG_INT, "50", 1, 1000000, NULL,
     D_(max_sessions_per_client),
     "concurrent sessions from one address outside mynetworks; more get 421 4.7.0"},
    {"smtpd", "client_rate_interval", CFG_DURATION, "60s", 1, 86400, NULL, D_(client_rate_interval),
     "time unit of the client_*_rate_limit counts (a window from an address's first event)"},
    {"smtpd", "client_connection_rate_limit", CFG_INT, "60", 0, 1000000000, NULL,
     D_(client_connection_rate_limit),
     "connections from one address outside mynetworks per interval; more get 421 4.7.0 (0: off)"},
    {"smtpd", "client_message_rate_limit", CFG_INT, "300", 0, 1000000000, NULL,
     D_(client_message_rate_limit),
     "MAIL commands from one address outside mynetworks per interval; more get 421 4.7.0 (0: off)"},
    {"smtpd", "client_recipient_rate_limit", CFG_INT, "3000", 0, 1000000000, NULL,
     D_(client_recipient_rate_limit),
     "RCPT commands from one address outside mynetworks per interval; more get 421 4.7.0 (0: off)"},
    {"smtpd", "client_auth_failure_rate_limit", CFG_INT, "10", 0, 1000000000, NULL,
     D_(client_auth_failure_rate_limit),
     "failed AUTH from one address outside mynetworks per interval; AUTH then gets 421 4.7.0 (0: "
     "off)"},
    {"smtpd", "client_error_rate_limit", CFG_INT, "100", 0, 1000000000, NULL,
     D_(client_error_rate_limit),
     "error replies to one address outside mynetworks per interval; more get 421 4.7.0 (0: off)"},
    {"smtpd", "client_rate_table_size", CFG_INT, "100000", 16, 100000000, NULL,
     D_(client_rate_table_size),
     "client addresses whose rates are tracked at most; past it the oldest is forgotten"},
    {"smtpd", "helo_check", CFG_BOOL, "yes", 0, 0, NULL, D_(helo_check),
     "EHLO/HELO names must be domains or address literals, else 501 5.5.2"},
    {"smtpd", "command_timeout", CFG_DURATION, "5m", 1, 86400, NULL, D_(command_timeout),
     "time a whole command line may take (a deadline from the first wait, not an idle timer)"},
    {"smtpd", "data_timeout", CFG_DURATION, "3m", 1, 86400, NULL, D_(data_timeout),
     "time DATA or a BDAT chunk may take, plus one second per data_min_rate octets received"},
    {"smtpd", "data_min_rate", CFG_SIZE, "500", 1, 1 * G, NULL, D_(data_min_rate),
     "DATA/BDAT must arrive at this many octets per second beyond data_timeout (slowloris)"},
    {"smtpd", "dot_timeout", CFG_DURATION, "10m", 1, 86400, NULL, D_(dot_timeout),
     "time the client waits for our reply to the end of data (we answer well within it)"},
    {"smtpd", "mynetworks", CFG_STRING, "127.0.0.0/8 [::1]/128", 0, 4096, NULL, D_(mynetworks),
     "client networks allowed to relay to any domain (CIDR list)"},
    {"smtpd", "local_domains", CFG_STRING, "", 0, 4096, NULL, D_(local_domains),
     "domains accepted from anyone (list; .example matches subdomains)"},
    {"smtpd", "postmaster", CFG_STRING, "", 0, 255, NULL, D_(postmaster),
     "where RCPT TO:<postmaster> (no domain) goes; \"\": postmaster@ the first local domain"},
    {"smtpd", "tls_cert_file", CFG_PATH, "", 0, 1024, NULL, D_(tls_cert_file),
     "PEM certificate chain for STARTTLS (empty: no STARTTLS)"},
    {"smtpd", "tls_key_file", CFG_PATH, "", 0, 1024, NULL, D_(tls_key_file),
     "PEM private key for STARTTLS"},
    {"smtpd", "auth_users_file", CFG_PATH, "", 0, 1024, NULL, D_(auth_users_file),
     "user:crypt-hash lines for AUTH PLAIN/LOGIN after STARTTLS (empty: no AUTH)"},

    {"router", "transport_map", CFG_PATH, "", 0, 1024, NULL, R_(transport_map),
     "file of routes: domain (or .subdomain) then smtp:[host]:port, smtp:host, "
     "lmtp:unix:/path, lmtp:[host]:port or error:X.Y.Z text; options tls=none|may|verify|"
     "implicit, auth=NAME"},
    {"router", "relayhost", CFG_STRING, "", 0, 300, NULL, R_(relayhost),
     "smarthost for everything not otherwise routed: [host]:port or host:port (MX); empty: MX; "
     "port 465 is TLS from the connect on (RFC 8314)"},
    {"router", "relayhost_auth", CFG_STRING, "", 0, TM_AUTH_NAME_MAX, NULL, R_(relayhost_auth),
     "AUTH to the relayhost with these credentials from smarthost_secrets (only over a verified "
     "TLS session; empty: no AUTH)"},
    {"router", "smarthost_secrets", CFG_PATH, "", 0, 1024, NULL, R_(smarthost_secrets),
     "credentials for auth=NAME and relayhost_auth, one \"NAME USER PASSWORD\" a line; no access "
     "for others, no write for the group (empty: none)"},
    {"router", "alias_map", CFG_PATH, "", 0, 1024, NULL, R_(alias_map),
     "file of aliases: address (or @domain) then the addresses it stands for, applied before "
     "routing, aliases of aliases too (empty: none)"},
    {"router", "alias_expansion_limit", CFG_INT, "1000", 1, 100000, NULL, R_(alias_expansion_limit),
     "addresses one recipient may expand to through alias_map"},
    {"router", "sender_canonical_map", CFG_PATH, "", 0, 1024, NULL, R_(sender_canonical_map),
     "file of sender rewrites for mail going out by SMTP or LMTP: address (or @domain) then "
     "the address (or @domain) to send instead (empty: none)"},
    {"router", "dns_servers", CFG_STRING, "", 0, 1024, NULL, R_(dns_servers),
     "DNS servers as ip[:port], comma separated (empty: /etc/resolv.conf)"},
    {"router", "smtp_port", CFG_INT, "25", 1, 65535, NULL, R_(smtp_port),
     "port of hosts found by MX or address lookup"},
    {"router", "retry_first", CFG_DURATION, "5m", 1, 86400, NULL, R_(retry_first),
     "first retry after a temporary failure"},
    {"router", "retry_max", CFG_DURATION, "1h", 1, 86400, NULL, R_(retry_max),
     "retries back off (doubling) to at most this interval"},
    {"router", "max_queue_lifetime", CFG_DURATION, "5d", 1, 3650LL * 86400, NULL,
     R_(max_queue_lifetime), "a recipient still deferred after this fails (RFC 5321 4.5.4.1)"},
    {"router", "delay_warning", CFG_DURATION, "4h", 0, 3650LL * 86400, NULL, R_(delay_warning),
     "send one delayed-mail DSN after a recipient waited this long (0: never)"},
    {"router", "due_interval", CFG_DURATION, "10s", 1, 3600, NULL, R_(due_interval),
     "how often the store's due index is scanned for recipients whose time has come"},
    {"router", "active_limit", CFG_INT, "20000", 100, 10000000, NULL, R_(active_limit),
     "recipients the router holds in memory at most; the rest wait in the store (like "
     "Postfix's qmgr_message_active_limit)"},
    {"router", "max_connections", CFG_INT, "100", 1, 100000, NULL, R_(max_connections),
     "outbound SMTP connections in total"},
    {"router", "max_per_destination", CFG_INT, "10", 1, 10000, NULL, R_(max_per_destination),
     "outbound SMTP connections to one next hop"},
    {"router", "connect_timeout", CFG_DURATION, "30s", 1, 3600, NULL, R_(connect_timeout),
     "TCP connect timeout"},
    {"router", "greeting_timeout", CFG_DURATION, "5m", 1, 3600, NULL, R_(greeting_timeout),
     "wait for the 220 greeting (RFC 5321 4.5.3.2.1)"},
    {"router", "command_timeout", CFG_DURATION, "5m", 1, 3600, NULL, R_(command_timeout),
     "wait for replies to EHLO, MAIL, RCPT, STARTTLS, QUIT (4.5.3.2.2-3)"},
    {"router", "data_timeout", CFG_DURATION, "2m", 1, 3600, NULL, R_(data_timeout),
     "wait for the 354 to DATA (4.5.3.2.4)"},
    {"router", "block_timeout", CFG_DURATION, "3m", 1, 3600, NULL, R_(block_timeout),
     "wait to send each block of the body (4.5.3.2.5)"},
    {"router", "dot_timeout", CFG_DURATION, "10m", 1, 3600, NULL, R_(dot_timeout),
     "wait for the reply to the final dot (4.5.3.2.6)"},
    {"router", "tls_policy", CFG_ENUM, "may", 0, 0, "none|may|verify", R_(tls_policy),
     "STARTTLS towards peers unless the transport map says otherwise"},
    {"router", "convert_8bit", CFG_BOOL, "yes", 0, 0, NULL, R_(convert_8bit),
     "an 8-bit message to a server without 8BITMIME is re-encoded quoted-printable (RFC 6152); "
     "no: its recipients fail with 5.6.3 and a DSN"},
    {"router", "tls_ca_file", CFG_PATH, "", 0, 1024, NULL, R_(tls_ca_file),
     "CA certificates for tls=verify (empty: the system's)"},
    {"router", "dsn_return_limit", CFG_SIZE, "100k", 0, 64 * M, NULL, R_(dsn_return_limit),
     "RET=FULL returns the whole message only up to this size, else its headers"},
    {"router", "postmaster", CFG_STRING, "", 0, 255, NULL, R_(postmaster),
     "told once of every undeliverable DSN (a bounce that itself failed), by a notice from <> "
     "(empty: postmaster@<hostname>)"},
    {"router", "bounce_queue_lifetime", CFG_DURATION, "5d", 1, 3650LL * 86400, NULL,
     R_(bounce_queue_lifetime),
     "a DSN still undelivered this long after it was queued is given up, and one held as "
     "undeliverable is removed (like Postfix's bounce_queue_lifetime)"},

    {"gateway", "domain", CFG_STRING, "", 0, 255, NULL, W_(domain),
     "mail domain of the legacy postoffice (empty: no postoffice)"},
    {"gateway", "share", CFG_PATH, "", 0, 1024, NULL, W_(share),
     "the postoffice share as a local path (a mounted share)"},
    {"gateway", "sftp_host", CFG_STRING, "", 0, 255, NULL, W_(sftp_host),
     "SFTP server of the share (set: SFTP is used instead of the local path)"},
    {"gateway", "sftp_port", CFG_INT, "22", 1, 65535, NULL, W_(sftp_port), "SFTP server port"},
    {"gateway", "sftp_user", CFG_STRING, "", 0, 255, NULL, W_(sftp_user), "SFTP user"},
    {"gateway", "sftp_key", CFG_PATH, "", 0, 1024, NULL, W_(sftp_key), "SFTP private key file"},
    {"gateway", "sftp_known_hosts", CFG_PATH, "", 0, 1024, NULL, W_(sftp_known_hosts),
     "known_hosts file the server's host key must match (a mismatch stops delivery, loudly)"},
    {"gateway", "sftp_root", CFG_STRING, "", 0, 1024, NULL, W_(sftp_root),
     "directory of the share on the SFTP server"},
    {"gateway", "poll_interval", CFG_DURATION, "10s", 1, 3600, NULL, W_(poll_interval),
     "how often OUT/ and the directory (GLB/) are read"},
    {"gateway", "open_retry_interval", CFG_DURATION, "600s", 1, 86400, NULL,
     W_(open_retry_interval),
     "a recipient whose share access failed is tried again after this (cannot be switched off)"},
    {"gateway", "max_open_retries", CFG_INT, "144", 1, 100000, NULL, W_(max_open_retries),
     "failed share accesses before a recipient fails with a DSN naming the share (cannot be "
     "switched off)"},
    {"gateway", "max_deliveries", CFG_INT, "16", 1, 256, NULL, W_(max_deliveries),
     "transfer files written into P1/ at the same time, and deliveries the router has in flight "
     "to the gateway; further deliveries wait their turn in the router in arrival order"},
    {"gateway", "deliver_timeout", CFG_DURATION, "30m", 1, 86400, NULL, W_(deliver_timeout),
     "the router resets its link to a gateway that has not answered a postoffice delivery this "
     "long (a wedged gateway: a hung share is share_timeout's); every delivery in flight is "
     "deferred, and what the gateway wrote meanwhile its journal finishes at the next attempt"},
    {"gateway", "share_timeout", CFG_DURATION, "60s", 1, 3600, NULL, W_(share_timeout),
     "a share operation (writing a transfer file, reading OUT/ or the directory) with no answer "
     "this long is given up on: the delivery is deferred naming the share and the operation, and "
     "further deliveries are deferred at once until the share answers (a hung mount)"},
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
    "checkpoint_interval = 60s\n"
    "\n"
    "[smtpd]\n"
    "listen = 127.0.0.1:2525 [::1]:2525\n"
    "submission_listen = 127.0.0.1:2587 [::1]:2587\n"
    "local_domains = localhost\n"
    "; scripts/quickstart makes this self-signed pair\n"
    "tls_cert_file = ./spoolgate-state/tls/cert.pem\n"
    "tls_key_file = ./spoolgate-state/tls/key.pem\n"
    "\n"
    "[router]\n"
    "; scripts/quickstart writes this map: localhost -> its demo mailbox on 127.0.0.1:2526\n"
    "transport_map = ./spoolgate-state/transport\n"
    "due_interval = 5s\n"
    "\n"
    "[gateway]\n"
    "; scripts/quickstart makes a demo postoffice tree here (tests/postoffice_sim.py)\n"
    "domain = postoffice.localhost\n"
    "share = ./spoolgate-state/postoffice\n"
    "poll_interval = 5s\n";
