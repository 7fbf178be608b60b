/* dsn.h - pure composer of RFC 3464 delivery status notifications (multipart/report). */
#ifndef SPOOLGATE_DSN_H
#define SPOOLGATE_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum dsn_action { DSN_ACTION_FAILED, DSN_ACTION_DELAYED };

enum dsn_return { DSN_RETURN_HEADERS, DSN_RETURN_FULL };

struct dsn_rcpt {
    const char *addr;  /* final recipient (the envelope address we tried) */
    const char *orcpt; /* "rfc822;xtext" as received, or "" */
    enum dsn_action action;
    const char *status;           /* enhanced status "5.1.1", "4.4.1", ... never empty */
    const char *remote_mta;       /* host name or address that answered, or "" */
    const char *diagnostic;       /* the remote reply "550 5.1.1 <x>: user unknown", or "" */
    const char *reason;           /* our specific cause in words; never empty */
    uint64_t last_attempt_us;     /* 0: none */
    uint64_t will_retry_until_us; /* delayed only */
};

struct dsn_msg {
    const char *reporting_mta; /* our host name */
    const char *sender;        /* the original envelope sender: the DSN goes to them */
    const char *envid;         /* ENVID xtext, or "" */
    const char *qid;           /* queue id of the original message */
    uint64_t arrival_us;       /* when the original arrived */
    uint64_t now_us;           /* Date: of the DSN; also seeds the boundary */
    enum dsn_return ret;
    size_t return_limit; /* FULL only up to this many octets, else headers */
};

/* Compose the whole DSN (header section + body, CRLF line endings, every
 * line <= 998 octets) into out.  orig/orig_len is the original message as
 * stored (header section + body).  For DSN_RETURN_HEADERS, or FULL over
 * return_limit, only its header section goes in (as text/rfc822-headers);
 * otherwise all of it (as message/rfc822).  All actions of r must be the
 * same kind (all failed or all delayed).  Returns 0, or -1 with why (bad
 * arguments, out of memory). */
int dsn_compose(const struct dsn_msg *m, const struct dsn_rcpt *r, size_t nr, const uint8_t *orig,
                size_t orig_len, struct sg_buf *out, char *why, size_t whysz);

/* RFC 5322 date of a wall-clock time in microseconds ("Fri, 27 Nov 2026 04:50:05 +0000"). */
void dsn_date(uint64_t us, char *buf, size_t bufsz);

#endif
