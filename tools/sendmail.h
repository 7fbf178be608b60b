/* sendmail.h - spoolgate-sendmail: the interfaces between its files (options, message, submission, queue, SMTP mode). */
#ifndef SPOOLGATE_SENDMAIL_H
#define SPOOLGATE_SENDMAIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "config.h"
#include "ipc.h"
#include "sendmail_headers.h"

#define SM_PROGRAM "spoolgate-sendmail"

/* What the command line and the config settled. */
struct sm_ctx {
    struct sg_config *cfg;
    const char *socket; /* -s, else the submission socket */
    int socket_given;   /* -s: -bp and -q use it too, else store.sock */
    char hostname[256];
    char origin[256]; /* global.myorigin, else hostname */
    uid_t uid;
    char user[64];         /* the invoking user's login name */
    const char *full_name; /* -F, else the passwd gecos (may be "") */
    int dot_ends;          /* no -i: a line "." ends the message */
    int extract;           /* -t */
    int verbose;
};

/* One message to submit: the envelope and the message octets (CRLF lines). */
struct sm_msg {
    struct ipc_submit_begin begin;
    struct ipc_submit_rcpt *rcpts;
    size_t nrcpt;
    uint32_t notify; /* -N, for every recipient */
    struct sg_buf data;
};

/* sendmail_message.c: the message as read, with what a local submission adds. */
/* Read a message from f into m->data as CRLF lines (a line "." ends it when dot_ends). 0, -1. */
int sm_read_message(FILE *f, int dot_ends, long long max, struct sg_buf *out);
/* Add the recipients of list (an address list: "a, b", "Name <a>") qualified: 0 or -1 (why). */
int sm_add_rcpts(const struct sm_ctx *x, struct sm_msg *m, const char *list, char *why,
                 size_t whysz);
/* -t: the To, Cc and Bcc recipients added, Bcc removed; then Date, Message-ID and From added when
 * missing.  0, or -1 with why. */
int sm_prepare(const struct sm_ctx *x, struct sm_msg *m, char *why, size_t whysz);
/* "Received: by HOST (spoolgate, from userid N) id QID; date" with CRLFs into b. */
void sm_received(struct sg_buf *b, const char *host, long long uid, const char *qid);
/* The envelope sender from -f/-r (NULL: the invoking user): "<>" and "" are the null sender,
 * <a@b> loses its brackets, a bare name is qualified.  0, or -1 with why. */
int sm_sender(const struct sm_ctx *x, const char *arg, struct sm_msg *m, char *why, size_t whysz);
void sm_msg_free(struct sm_msg *m);

/* sendmail_submit.c: into the store, or into the pickup directory while it is down. */
enum sm_result { SM_QUEUED, SM_PICKUP, SM_REFUSED, SM_FAILED };
/* Submit m: SM_QUEUED (qid), SM_PICKUP (kept for later: qid holds the file name), SM_REFUSED
 * (the store said no for good: why), SM_FAILED (neither worked: why). */
enum sm_result sm_submit(const struct sm_ctx *x, struct sm_msg *m, char *qid, size_t qidsz,
                         char *why, size_t whysz);

/* sendmail_queue.c: -bp (mailq) and -q over store.sock. */
int sm_mailq(const struct sm_ctx *x);
int sm_flush(const struct sm_ctx *x);

/* sendmail_smtp.c: -bs, an SMTP dialogue on stdin and stdout, each message as sm_submit. */
int sm_smtp(struct sm_ctx *x);

#endif
