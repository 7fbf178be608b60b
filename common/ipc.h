/* ipc.h - the spoolgate IPC protocol: frame format, message types, typed messages. */
#ifndef SPOOLGATE_IPC_H
#define SPOOLGATE_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Wire format (all integers big-endian):
 *
 *   frame   = u32 payload_len, payload
 *   payload = u16 type, u32 request_id, field*
 *   field   = 'I' u32 | 'Q' u64 | 'S' u32 len, bytes (no NUL) | 'B' u32 len, bytes
 *
 * Every message has a fixed sequence of typed fields.  A reader that finds a
 * wrong tag, a truncated field, an over-long string or bytes left over after
 * the last field rejects the whole frame; the connection that sent it is
 * closed.  Nothing is ever half-parsed.
 *
 * Bump IPC_PROTO_MAJOR on any incompatible change (field added, removed or
 * reordered in an existing message); bump IPC_PROTO_MINOR when a message
 * type is added.  Peers with different majors refuse each other in the hello.
 */

#define IPC_PROTO_MAJOR 1
#define IPC_PROTO_MINOR 8
#define IPC_MINOR_ROLE 8        /* the first minor that takes IPC_ROLE after the hello */
#define IPC_MINOR_GW_RECORDED 5 /* the first minor whose router sends IPC_GW_RECORDED */

#define IPC_HEADER_LEN 4              /* u32 payload length */
#define IPC_PAYLOAD_MIN 6             /* u16 type + u32 request id */
#define IPC_FRAME_MAX (1024u * 1024u) /* largest payload accepted */
#define IPC_CHUNK_MAX (256u * 1024u)  /* largest body chunk in one frame */

/* String field limits (bytes, excluding the terminating NUL we add). */
#define IPC_NAME_MAX 63    /* program, role */
#define IPC_CAPS_MAX 255   /* comma separated capability list */
#define IPC_QID_MAX 15     /* queue id text */
#define IPC_ADDR_MAX 511   /* envelope address (RFC 5321 path, UTF-8) */
#define IPC_ENVID_MAX 127  /* DSN ENVID (RFC 3461: 100 chars xtext) */
#define IPC_ROUTE_MAX 255  /* route description, e.g. "smtp:[mx.example]:25" */
#define IPC_REPLY_MAX 1023 /* last reply / error text */
#define IPC_ORIGIN_MAX 255 /* de-duplication key of a submitter */
#define IPC_MATCH_MAX 255  /* list filter text */

/* Field tags. */
enum ipc_tag {
    IPC_TAG_U32 = 'I',
    IPC_TAG_U64 = 'Q',
    IPC_TAG_STR = 'S',
    IPC_TAG_BYTES = 'B',
};

/* Message types.  Requests and the replies they draw. */
enum ipc_type {
    IPC_HELLO = 1, /* both sides, first frame: struct ipc_hello */
    IPC_ERROR = 2, /* reply: struct ipc_error */
    IPC_OK = 3,    /* reply: struct ipc_ok (count of records touched) */

    IPC_SUBMIT_BEGIN = 10,   /* struct ipc_submit_begin -> IPC_SUBMIT_STARTED */
    IPC_SUBMIT_STARTED = 11, /* struct ipc_qid_msg: the queue id assigned */
    IPC_SUBMIT_RCPT = 12,    /* struct ipc_submit_rcpt (no reply) */
    IPC_SUBMIT_CHUNK = 13,   /* struct ipc_chunk (no reply) */
    IPC_SUBMIT_COMMIT = 14,  /* struct ipc_submit_commit -> IPC_SUBMITTED or IPC_ERROR */
    IPC_SUBMIT_ABORT = 15,   /* no fields -> IPC_OK */
    IPC_SUBMITTED = 16,      /* struct ipc_submitted: durable on disk */

    IPC_READ_ENVELOPE = 20, /* struct ipc_qid_msg -> IPC_ENVELOPE, IPC_RCPT*, IPC_END */
    IPC_ENVELOPE = 21,      /* struct ipc_envelope */
    IPC_RCPT = 22,          /* struct ipc_rcpt */
    IPC_READ_BODY = 23,     /* struct ipc_qid_msg -> IPC_CHUNK*, IPC_END */
    IPC_CHUNK = 24,         /* struct ipc_chunk */
    IPC_END = 25,           /* struct ipc_end: a stream is complete */

    IPC_UPDATE_RCPT = 30,  /* struct ipc_rcpt_update -> IPC_OK */
    IPC_UPDATE_BATCH = 31, /* struct ipc_update_batch: UPDATE_RCPTs in one transaction -> IPC_OK */

    IPC_LIST = 40,      /* struct ipc_list_req -> (IPC_ENVELOPE, IPC_RCPT*)*, IPC_END */
    IPC_DUE = 41,       /* struct ipc_due_req -> IPC_DUE_ITEM*, IPC_END */
    IPC_DUE_ITEM = 42,  /* struct ipc_due_item */
    IPC_LIST_FROM = 43, /* struct ipc_list_from: one page of LIST -> as LIST */

    IPC_REQUEUE = 50,     /* struct ipc_qid_msg (one message; IPC_ADMIN for all) -> IPC_OK */
    IPC_HOLD = 51,        /* struct ipc_qid_msg (one message; IPC_ADMIN for all) -> IPC_OK */
    IPC_RELEASE = 52,     /* struct ipc_qid_msg (one message; IPC_ADMIN for all) -> IPC_OK */
    IPC_DELETE = 53,      /* struct ipc_qid_msg -> IPC_OK */
    IPC_STATS = 54,       /* no fields -> IPC_STATS_REPLY */
    IPC_STATS_REPLY = 55, /* struct ipc_stats */

    IPC_SUBSCRIBE = 60, /* no fields -> IPC_OK; then IPC_EVENT frames arrive */
    IPC_EVENT = 61,     /* struct ipc_event (request id 0) */
    /* no fields -> IPC_OK; as SUBSCRIBE, and each COMMITTED event is followed by
     * the message as READ_ENVELOPE answers it: ENVELOPE, RCPT*, END (request id 0) */
    IPC_SUBSCRIBE_MESSAGES = 62,

    IPC_DIR_LOOKUP = 70, /* struct ipc_dir_lookup -> IPC_DIR_RESULT (served by the gateway) */
    IPC_DIR_RESULT = 71, /* struct ipc_dir_result */
    IPC_GW_DELIVER = 72, /* struct ipc_gw_deliver -> IPC_GW_RESULT*, IPC_END (router -> gateway) */
    IPC_GW_RESULT = 73,  /* struct ipc_gw_result: one recipient's outcome */
    /* struct ipc_gw_deliver (no reply; protocol 1.5): the store has recorded the final outcomes
     * of that delivery, the gateway's journal may forget its transfer file (router -> gateway) */
    IPC_GW_RECORDED = 74,

    /* administration (ipc_msgs_admin.c) */
    IPC_ADMIN = 80,       /* struct ipc_admin_req -> IPC_OK (recipients changed) */
    IPC_LIST_FILTER = 81, /* struct ipc_list_filter -> as IPC_LIST */
    IPC_PAUSE = 82,       /* struct ipc_pause -> IPC_OK */
    IPC_RESUME = 83,      /* struct ipc_pause -> IPC_OK (recipients made due) */
    IPC_PAUSE_LIST = 84,  /* no fields -> IPC_PAUSE_ITEM*, IPC_END */
    IPC_PAUSE_ITEM = 85,  /* struct ipc_pause: one paused destination */
    IPC_CLIENTS = 86,     /* no fields -> IPC_CLIENT_ITEM*, IPC_END */
    IPC_CLIENT_ITEM = 87, /* struct ipc_client_item: one connection to the store */
    IPC_METRICS = 88,     /* no fields -> IPC_METRIC_ITEM*, IPC_END */
    IPC_METRIC_ITEM = 89, /* struct ipc_metric_item: one counter */
    IPC_SHAPE = 90,       /* struct ipc_list_filter -> IPC_SHAPE_ROW*, IPC_END */
    IPC_SHAPE_ROW = 91,   /* struct ipc_shape_row: recipients of a domain in a state by age */
    IPC_REPORT = 92,      /* struct ipc_metric_item: a daemon's own counter, its total -> IPC_OK */
    /* Minor 6: a replicated store's group as this site sees it (a replica answers it too). */
    IPC_REPL_STATUS = 93, /* no fields -> IPC_REPL_SITE* (this site first), IPC_END */
    IPC_REPL_SITE = 94,   /* struct ipc_repl_site */
    /* Minor 7: a site taken out of the group's membership (the master answers it). */
    IPC_REPL_REMOVE = 95,  /* struct ipc_repl_remove -> IPC_REPL_REMOVED */
    IPC_REPL_REMOVED = 96, /* struct ipc_repl_removed: done, and what to do next */
    /* Minor 8: the store's role and its group's master, sent (request id 0) by a store whose
     * hello offers IPC_CAP_ROLE right after the hello of a client of minor 8 or later, and
     * again to every client whenever it changes. */
    IPC_ROLE = 97, /* struct ipc_role */
};

/* Per-recipient states.  DELIVERED and FAILED are final. */
enum rcpt_state {
    RCPT_QUEUED = 0,   /* waiting to be categorized and routed */
    RCPT_ACTIVE = 1,   /* an attempt is under way */
    RCPT_DEFERRED = 2, /* waiting for next_attempt */
    RCPT_DELIVERED = 3,
    RCPT_FAILED = 4,
    RCPT_HELD = 5, /* held by an administrator */
    RCPT_STATE_COUNT
};

/* Error classes carried in IPC_ERROR. */
enum ipc_error_code {
    IPC_ERR_TEMP = 1,     /* transient, try again (451 4.3.0) */
    IPC_ERR_NOSPACE = 2,  /* store out of space (452 4.3.1) */
    IPC_ERR_PERM = 3,     /* request can never succeed */
    IPC_ERR_NOTFOUND = 4, /* no such message or recipient */
    IPC_ERR_PROTO = 5,    /* malformed or out-of-order frame; connection closed */
    IPC_ERR_VERSION = 6,  /* incompatible protocol version; connection closed */
    IPC_ERR_CAPS = 7,     /* required capability missing; connection closed */
};

/* Envelope flags. */
#define IPC_FLAG_8BITMIME 0x1u
#define IPC_FLAG_SMTPUTF8 0x2u
#define IPC_FLAG_DSN_MSG 0x4u /* this message is itself a DSN */

/* DSN RET values. */
enum ipc_dsn_ret { IPC_RET_NONE = 0, IPC_RET_FULL = 1, IPC_RET_HDRS = 2 };

/* DSN NOTIFY bits (0 = not given: default, failure only). */
#define IPC_NOTIFY_NEVER 0x1u
#define IPC_NOTIFY_SUCCESS 0x2u
#define IPC_NOTIFY_FAILURE 0x4u
#define IPC_NOTIFY_DELAY 0x8u

/* Event kinds in IPC_EVENT. */
enum ipc_event_kind {
    IPC_EV_COMMITTED = 1,  /* a new message was committed */
    IPC_EV_REQUEUED = 2,   /* an administrator requeued or released messages */
    IPC_EV_SHARE_BACK = 3, /* gateway -> router: the postoffice share is reachable again */
    IPC_EV_PAUSED = 4,     /* the paused destinations changed: ask IPC_PAUSE_LIST */
};

/* Capabilities the store offers; clients list the ones they need. */
#define IPC_CAPS_STORE "submit,read,update,list,due,admin,events"
#define IPC_CAP_SUBMIT "submit"     /* all the store's submission socket offers */
#define IPC_CAP_ADMIN "admin"       /* all a replica offers (spoolctl repl) */
#define IPC_ROLE_REPLICA "replica"  /* the role in a replica's hello (the master's is "store") */
#define IPC_CAP_ROLE "role"         /* offered: an IPC_ROLE follows the hello (minor 8 clients) */
#define IPC_ROLE_MASTER "master"    /* ipc_role.role of the site that serves */
#define IPC_ROLE_REPL_CLIENT "repl" /* spoolctl repl's hello: served by a replica too */
/* What each daemon's user may ask of the store on store.sock (by SO_PEERCRED);
 * root and the store's own user may ask for all of IPC_CAPS_STORE. */
#define IPC_CAPS_STORE_SMTPD "submit"
#define IPC_CAPS_STORE_ROUTER "read,update,list,due,events,submit"
#define IPC_CAPS_STORE_GATEWAY "read,submit"
#define IPC_SOCKET_SUBMIT "submit" /* its name in socket_dir: submit.sock, mode 0666 */
/* The gateway's postoffice directory (RCPT checks by smtpd). */
#define IPC_CAP_DIRECTORY "directory"
/* The gateway takes postoffice recipients from the router. */
#define IPC_CAP_DELIVER "deliver"

/* Answers of a directory lookup. */
enum ipc_dir_status {
    IPC_DIR_UNKNOWN = 0, /* no such mailbox */
    IPC_DIR_FOUND = 1,
    IPC_DIR_UNAVAILABLE = 2, /* the directory is not loaded (yet) */
};

/* ---- typed messages ---------------------------------------------------- */

struct ipc_hello {
    char program[IPC_NAME_MAX + 1];
    char role[IPC_NAME_MAX + 1]; /* store, smtpd, router, gateway, admin, ... */
    uint32_t major;
    uint32_t minor;
    char caps_needed[IPC_CAPS_MAX + 1];
    char caps_offered[IPC_CAPS_MAX + 1];
    uint64_t generation; /* from the store; 0 from everyone else */
};

/* Who a store is: its role (IPC_ROLE_MASTER, or a replicated site's other roles: "starting",
 * "replica", "preparing", "demoted"), its site name, and the master as it knows it: the site's
 * name and the store address clients reach it at ("" when unknown or not configured). */
#define IPC_STORE_ADDR_MAX 107 /* a store address: a Unix socket path or tcp:ADDRESS:PORT */
struct ipc_role {
    char role[IPC_NAME_MAX + 1];
    char site[IPC_NAME_MAX + 1];   /* "" for a store that is not replicated */
    char master[IPC_NAME_MAX + 1]; /* the master's site name, "" when none is known */
    char master_addr[IPC_STORE_ADDR_MAX + 1];
    uint64_t generation; /* the master's generation when this site is it; else 0 */
};

struct ipc_error {
    uint32_t code; /* enum ipc_error_code */
    char text[IPC_REPLY_MAX + 1];
};

struct ipc_ok {
    uint64_t count;
};

struct ipc_qid_msg {
    char qid[IPC_QID_MAX + 1];
};

struct ipc_submit_begin {
    char sender[IPC_ADDR_MAX + 1]; /* "" for the null sender */
    char envid[IPC_ENVID_MAX + 1];
    uint32_t ret;                    /* enum ipc_dsn_ret */
    uint32_t flags;                  /* IPC_FLAG_* */
    char origin[IPC_ORIGIN_MAX + 1]; /* "" or a key; same key twice -> one message */
};

struct ipc_submit_rcpt {
    char addr[IPC_ADDR_MAX + 1];
    char orcpt[IPC_ADDR_MAX + 1];
    uint32_t notify; /* IPC_NOTIFY_* */
};

struct ipc_chunk {
    const uint8_t *data; /* points into the frame buffer when decoded */
    size_t len;          /* 0 < len <= IPC_CHUNK_MAX */
};

struct ipc_submit_commit {
    uint64_t size; /* body bytes the client sent; checked */
};

struct ipc_submitted {
    char qid[IPC_QID_MAX + 1];
    uint64_t generation;
    uint32_t duplicate; /* 1: origin key seen before; qid is the first copy */
};

struct ipc_envelope {
    char qid[IPC_QID_MAX + 1];
    uint64_t generation;
    char sender[IPC_ADDR_MAX + 1];
    uint64_t arrival_us; /* wall clock, microseconds */
    uint64_t size;
    uint32_t flags;
    uint32_t ret;
    char envid[IPC_ENVID_MAX + 1];
    char origin[IPC_ORIGIN_MAX + 1];
    uint32_t nrcpt;
};

struct ipc_rcpt {
    char qid[IPC_QID_MAX + 1];
    uint32_t index;
    char addr[IPC_ADDR_MAX + 1];
    char orcpt[IPC_ADDR_MAX + 1];
    uint32_t notify;
    uint32_t state; /* enum rcpt_state */
    char route[IPC_ROUTE_MAX + 1];
    uint32_t attempts;
    uint64_t next_attempt_us; /* 0: not scheduled */
    uint64_t last_attempt_us;
    char last_reply[IPC_REPLY_MAX + 1];
};

struct ipc_end {
    uint64_t count; /* records in the stream */
};

struct ipc_rcpt_update {
    char qid[IPC_QID_MAX + 1];
    uint32_t index;
    uint32_t state;
    char route[IPC_ROUTE_MAX + 1];
    uint32_t attempts;
    uint64_t next_attempt_us;
    uint64_t last_attempt_us;
    char last_reply[IPC_REPLY_MAX + 1];
};

struct ipc_list_req {
    uint32_t state_mask;           /* bit (1 << state); 0 = all states */
    char match[IPC_MATCH_MAX + 1]; /* substring of qid, sender or a recipient; "" = all */
    uint32_t limit;                /* 0 = no limit */
};

/* A page of the LIST stream: messages after after_qid ("" = from the first)
 * with a recipient in state_mask, at most limit of them (0: no limit). */
struct ipc_list_from {
    uint32_t state_mask;
    char after_qid[IPC_QID_MAX + 1];
    uint32_t limit;
};

/* count whole UPDATE_RCPT frames (request id 0) back to back, applied in one
 * transaction.  An update of a recipient already final or of a message gone
 * is skipped; IPC_OK counts the updates applied. */
struct ipc_update_batch {
    uint32_t count;
    const uint8_t *frames; /* points into the frame being read, or the caller's buffer */
    size_t len;
};
#define IPC_UPDATE_BATCH_MAX (IPC_FRAME_MAX - 64) /* bytes of frames in one batch */

struct ipc_due_req {
    uint64_t before_us; /* 0 = the store's now */
    uint32_t limit;     /* 0 = store default */
};

struct ipc_due_item {
    char qid[IPC_QID_MAX + 1];
    uint32_t index;
    uint32_t state;
    uint64_t next_attempt_us;
};

struct ipc_stats {
    uint64_t generation;
    uint64_t messages;
    uint64_t by_state[RCPT_STATE_COUNT]; /* recipients per state */
    uint64_t adopted;                    /* messages re-stamped at this start */
    uint64_t started_us;
};

struct ipc_event {
    uint32_t kind;             /* enum ipc_event_kind */
    char qid[IPC_QID_MAX + 1]; /* "" for many messages */
};

struct ipc_dir_lookup {
    char addr[IPC_ADDR_MAX + 1]; /* local@postoffice-domain */
};

struct ipc_dir_result {
    uint32_t status;                /* enum ipc_dir_status */
    char mailbox[IPC_ADDR_MAX + 1]; /* the legacy address when found */
};

struct ipc_gw_deliver {
    char qid[IPC_QID_MAX + 1];
    char indexes[IPC_MATCH_MAX + 1]; /* recipient indexes, comma separated */
};

struct ipc_gw_result {
    char qid[IPC_QID_MAX + 1];
    uint32_t index;
    uint32_t state;                /* RCPT_DELIVERED, RCPT_DEFERRED or RCPT_FAILED */
    char status[16];               /* enhanced status code */
    char reply[IPC_REPLY_MAX + 1]; /* what happened, specific */
};

/* ---- administration (ipc_msgs_admin.c) ---------------------------------- */

/* Which messages and recipients a listing or an administrative request is about; every
 * criterion given must hold.  from/to: "" any, "<>" the null sender, "@domain" any address
 * of that domain, else the address (case-insensitive).  A message matches when its sender and
 * arrival do and at least one recipient matches state_mask, to and domain. */
struct ipc_filter {
    uint32_t state_mask;           /* bit (1 << state); 0 = all states */
    char from[IPC_ADDR_MAX + 1];   /* sender */
    char to[IPC_ADDR_MAX + 1];     /* a recipient */
    char domain[IPC_ADDR_MAX + 1]; /* a recipient's domain */
    uint64_t before_us;            /* arrived before this (0: any time) */
};

struct ipc_list_filter {
    struct ipc_filter f;
    char match[IPC_MATCH_MAX + 1]; /* substring of qid, sender or a recipient; "" = all */
    uint32_t limit;                /* 0 = no limit */
};

/* What IPC_ADMIN does to the recipients the filter selects. */
enum ipc_admin_op {
    IPC_OP_REQUEUE = 1, /* queued, deferred, active -> queued, due now */
    IPC_OP_HOLD = 2,    /* not final -> held */
    IPC_OP_RELEASE = 3, /* held -> queued, due now */
    IPC_OP_DELETE = 4,  /* the whole message, when a recipient matches */
    IPC_OP_FLUSH = 5,   /* deferred -> due now (attempts kept) */
};
#define IPC_OP_MAX IPC_OP_FLUSH
#define IPC_ADMIN_ALL 0x1u /* every message (qid must be ""): never implied by a qid */

struct ipc_admin_req {
    uint32_t op;    /* enum ipc_admin_op */
    uint32_t flags; /* IPC_ADMIN_ALL */
    char qid[IPC_QID_MAX + 1];
    struct ipc_filter f;
};

/* A paused destination: a recipient domain, or every destination (IPC_ADMIN_ALL, domain ""). */
struct ipc_pause {
    uint32_t flags;
    char domain[IPC_ADDR_MAX + 1];
};
#define IPC_PAUSED_REPLY "4.3.2 paused by admin" /* the reply a paused recipient shows */

struct ipc_client_item {
    char program[IPC_NAME_MAX + 1];
    char role[IPC_NAME_MAX + 1];
    char version[IPC_NAME_MAX + 1]; /* protocol major.minor of its hello */
    uint32_t pid;                   /* SO_PEERCRED; 0 when unknown */
    uint32_t uid;
    char caps[IPC_CAPS_MAX + 1];
};

/* What a daemon may report with IPC_REPORT (the store keeps the last total of each). */
#define IPC_REPORT_SHARE_FAILURES "router_share_failures_total"
#define IPC_REPORT_MAX 16 /* names the store keeps */

/* One value; name is a metric name with its labels, e.g. rcpt_entered{state="deferred"}. */
struct ipc_metric_item {
    char name[IPC_MATCH_MAX + 1];
    uint64_t value;
};

/* One site of a replicated store's group. */
#define IPC_REPL_LOCAL 1u     /* the site that answered */
#define IPC_REPL_MASTER 2u    /* the master, as the answering site knows it */
#define IPC_REPL_CONNECTED 4u /* the answering site has a connection to it */
struct ipc_repl_site {
    char name[IPC_NAME_MAX + 1]; /* from repl_group; empty for a site not in it */
    char addr[IPC_NAME_MAX + 1]; /* ADDRESS:PORT of its replication port */
    char role[IPC_NAME_MAX + 1]; /* the answering site's role (store_role_name); "" for others */
    uint32_t flags;
    uint32_t lsn_file, lsn_offset; /* the answering site's next log position; 0 for others */
};

/* spoolctl repl remove SITE: a site's name in the master's repl_group, or its ADDRESS:PORT. */
struct ipc_repl_remove {
    char site[IPC_NAME_MAX + 1];
};
struct ipc_repl_removed {
    uint32_t nsites;              /* the group's sites now */
    char text[IPC_REPLY_MAX + 1]; /* what was done and what to do next */
};

/* Age buckets of IPC_SHAPE (minutes of queue age, the last open-ended), as qshape's. */
#define IPC_SHAPE_BUCKETS 10
extern const uint32_t ipc_shape_minutes[IPC_SHAPE_BUCKETS - 1]; /* 5 10 20 ... 1280 */
int ipc_shape_bucket(uint64_t age_us);

struct ipc_shape_row {
    char domain[IPC_ADDR_MAX + 1];
    uint32_t state;
    uint64_t count[IPC_SHAPE_BUCKETS];
};

/* ---- frame building (into the one buffer type, common/buf.h; its mark is the frame start) */

/* Start a frame of the given type and request id; fields follow. */
void ipc_msg_begin(struct sg_buf *b, uint16_t type, uint32_t request_id);
void ipc_put_u32(struct sg_buf *b, uint32_t v);
void ipc_put_u64(struct sg_buf *b, uint64_t v);
void ipc_put_str(struct sg_buf *b, const char *s);
void ipc_put_bytes(struct sg_buf *b, const void *p, size_t n);
/* A bytes field filled in place (no copy through a buffer of the caller's): room for up to
 * max octets, where they are to be written, or NULL (out of memory: the buffer failed).
 * Nothing else may be appended until ipc_put_bytes_close says how many were written. */
uint8_t *ipc_put_bytes_open(struct sg_buf *b, size_t max);
void ipc_put_bytes_close(struct sg_buf *b, const uint8_t *at, size_t n);
/* Finish the frame begun last: fills in its length.  Returns 0, or -1 if the
 * buffer failed (the unfinished frame is removed again). */
int ipc_msg_end(struct sg_buf *b);

/* ---- frame parsing (reader side); pure functions over a buffer --------- */

/* Look at the start of an input buffer.  Returns 1 and sets *frame_len
 * (header + payload) when a whole frame is there, 0 when more input is
 * needed, -1 with *error set when the length is impossible. */
int ipc_frame_split(const uint8_t *in, size_t len, size_t *frame_len, const char **error);

struct ipc_reader;
/* The next whole frame at buf + *off: 1 with r initialised on it and *off
 * moved past it; 0 when more input is needed; -1 when it is malformed
 * (*error says why).  The one frame loop of every reader. */
int ipc_frame_next(const uint8_t *buf, size_t len, size_t *off, struct ipc_reader *r,
                   const char **error);

struct ipc_reader {
    const uint8_t *p;
    size_t left;
    uint16_t type;
    uint32_t request_id;
    unsigned field;    /* number of the field read last, for errors */
    const char *error; /* first error; sticky */
};

/* Begin reading one whole frame (as delimited by ipc_frame_split).  Checks
 * the header and that the type is known.  Returns 0 or -1 (r->error). */
int ipc_reader_init(struct ipc_reader *r, const uint8_t *frame, size_t frame_len);
int ipc_get_u32(struct ipc_reader *r, uint32_t *v);
int ipc_get_u64(struct ipc_reader *r, uint64_t *v);
/* Copy a string field into dst (size dstsz incl. NUL); rejects NUL bytes
 * inside and strings that do not fit. */
int ipc_get_str(struct ipc_reader *r, char *dst, size_t dstsz);
/* Point at a bytes field inside the frame. */
int ipc_get_bytes(struct ipc_reader *r, const uint8_t **p, size_t *n, size_t max);
/* Succeeds only when every byte of the frame was consumed. */
int ipc_reader_end(struct ipc_reader *r);

/* Name of a message type for logs ("?" when unknown); is it known? */
const char *ipc_type_name(uint16_t type);
int ipc_type_known(uint16_t type);
const char *rcpt_state_name(uint32_t state);
/* Parse a state name ("deferred"); -1 if unknown. */
int rcpt_state_parse(const char *name);
int rcpt_state_final(uint32_t state);
const char *ipc_error_name(uint32_t code);

/* ---- typed encoders and decoders (ipc_msgs.c) --------------------------
 * encode: append one whole frame to b; returns 0 or -1.
 * decode: read the fields of a frame whose reader was initialised and whose
 * type matches; checks ranges and ends the reader; returns 0 or -1 (r->error). */

#define IPC_DECLARE_CODEC(name, type)                                            \
    int ipc_encode_##name(struct sg_buf *b, uint32_t request_id, const type *m); \
    int ipc_decode_##name(struct ipc_reader *r, type *m)

IPC_DECLARE_CODEC(hello, struct ipc_hello);
IPC_DECLARE_CODEC(role, struct ipc_role);
IPC_DECLARE_CODEC(error, struct ipc_error);
IPC_DECLARE_CODEC(ok, struct ipc_ok);
IPC_DECLARE_CODEC(submit_begin, struct ipc_submit_begin);
IPC_DECLARE_CODEC(submit_rcpt, struct ipc_submit_rcpt);
IPC_DECLARE_CODEC(chunk, struct ipc_chunk); /* decode accepts CHUNK and SUBMIT_CHUNK */
int ipc_encode_submit_chunk(struct sg_buf *b, uint32_t request_id, const struct ipc_chunk *m);
/* A CHUNK frame filled in place: room for IPC_CHUNK_MAX octets (NULL: out of memory, the
 * buffer failed), then close with how many were written there (0 or too many: -1, the frame
 * dropped, as ipc_msg_end). */
uint8_t *ipc_encode_chunk_open(struct sg_buf *b, uint32_t request_id);
int ipc_encode_chunk_close(struct sg_buf *b, const uint8_t *at, size_t len);
IPC_DECLARE_CODEC(submit_commit, struct ipc_submit_commit);
IPC_DECLARE_CODEC(submitted, struct ipc_submitted);
IPC_DECLARE_CODEC(envelope, struct ipc_envelope);
IPC_DECLARE_CODEC(rcpt, struct ipc_rcpt);
IPC_DECLARE_CODEC(end, struct ipc_end);
IPC_DECLARE_CODEC(rcpt_update, struct ipc_rcpt_update);
IPC_DECLARE_CODEC(list_req, struct ipc_list_req);
IPC_DECLARE_CODEC(due_req, struct ipc_due_req);
IPC_DECLARE_CODEC(list_from, struct ipc_list_from);
/* decode also checks that frames holds exactly count valid UPDATE_RCPT frames. */
IPC_DECLARE_CODEC(update_batch, struct ipc_update_batch);
IPC_DECLARE_CODEC(due_item, struct ipc_due_item);
IPC_DECLARE_CODEC(stats, struct ipc_stats);
IPC_DECLARE_CODEC(event, struct ipc_event);
IPC_DECLARE_CODEC(dir_lookup, struct ipc_dir_lookup);
IPC_DECLARE_CODEC(dir_result, struct ipc_dir_result);
IPC_DECLARE_CODEC(gw_deliver, struct ipc_gw_deliver);
IPC_DECLARE_CODEC(gw_result, struct ipc_gw_result);
IPC_DECLARE_CODEC(gw_recorded, struct ipc_gw_deliver);

IPC_DECLARE_CODEC(admin_req, struct ipc_admin_req);
IPC_DECLARE_CODEC(list_filter, struct ipc_list_filter);
IPC_DECLARE_CODEC(client_item, struct ipc_client_item);
IPC_DECLARE_CODEC(metric_item, struct ipc_metric_item);
IPC_DECLARE_CODEC(shape_row, struct ipc_shape_row);
IPC_DECLARE_CODEC(repl_site, struct ipc_repl_site);
IPC_DECLARE_CODEC(repl_remove, struct ipc_repl_remove);
IPC_DECLARE_CODEC(repl_removed, struct ipc_repl_removed);
/* SHAPE carries a list filter too (LIST_FILTER or SHAPE). */
int ipc_encode_list_filter_as(struct sg_buf *b, uint16_t type, uint32_t request_id,
                              const struct ipc_list_filter *m);
/* REPORT carries a metric item too (METRIC_ITEM or REPORT). */
int ipc_encode_metric_as(struct sg_buf *b, uint16_t type, uint32_t request_id,
                         const struct ipc_metric_item *m);
/* PAUSE, RESUME and PAUSE_ITEM share struct ipc_pause: the codec takes the type. */
int ipc_encode_pause(struct sg_buf *b, uint16_t type, uint32_t request_id,
                     const struct ipc_pause *m);
int ipc_decode_pause(struct ipc_reader *r, struct ipc_pause *m);
/* Does addr (a path without <>, "" the null sender) match pattern as ipc_filter says? */
int ipc_filter_addr_match(const char *pattern, const char *addr);
/* The domain of addr: after its last '@', "" when there is none. */
const char *ipc_addr_domain(const char *addr);

/* struct ipc_qid_msg is shared by several request types, so its codec takes
 * the type; decode accepts any of them. */
int ipc_encode_qid_msg(struct sg_buf *b, uint16_t type, uint32_t request_id,
                       const struct ipc_qid_msg *m);
int ipc_decode_qid_msg(struct ipc_reader *r, struct ipc_qid_msg *m);
/* Messages without fields (SUBMIT_ABORT, STATS, SUBSCRIBE, SUBSCRIBE_MESSAGES). */
int ipc_encode_empty(struct sg_buf *b, uint16_t type, uint32_t request_id);
int ipc_decode_empty(struct ipc_reader *r);

/* Hello negotiation: is `peer` acceptable to a side that needs `needed`
 * capabilities?  Returns 0, or -1 with a specific reason in why and the
 * error code (IPC_ERR_VERSION or IPC_ERR_CAPS) in *code. */
int ipc_hello_check(const struct ipc_hello *peer, const char *needed, uint32_t *code, char *why,
                    size_t whysz);

/* After the hello of a store that offers IPC_CAP_ROLE, its IPC_ROLE: may a client of role
 * ours that needs `needed` use it?  A master gives 0; so does any site for spoolctl repl (role
 * IPC_ROLE_REPL_CLIENT) when the site's hello offers what it needs; otherwise -1 with why
 * ("not master: ..." naming the master and its address when known) and IPC_ERR_TEMP. */
int ipc_role_check(const struct ipc_role *role, const struct ipc_hello *peer, const char *ours,
                   const char *needed, uint32_t *code, char *why, size_t whysz);

/* Did the client of this hello ask for capability cap (one name)?  A server
 * serves a request only when the client asked for the capability the
 * request needs: what a client asked for is what it is granted. */
int ipc_caps_granted(const struct ipc_hello *peer, const char *cap);
/* The first capability in the comma list needed that allowed lacks (its
 * length in *len), or NULL when allowed has them all. */
const char *ipc_caps_missing(const char *needed, const char *allowed, size_t *len);

#endif
