/* smtp_body.h - pure message body pieces: the DATA/BDAT receive filter (CRLF.CRLF end, unstuffing, bare CR/LF, line length, header facts) and dot-stuffing for sending. */
#ifndef SPOOLGATE_SMTP_BODY_H
#define SPOOLGATE_SMTP_BODY_H

#include <stddef.h>
#include <stdint.h>

enum body_mode {
    BODY_MODE_DATA, /* dot-stuffed, ends at CRLF "." CRLF */
    BODY_MODE_BDAT, /* raw octets; the caller knows the chunk sizes */
};

/* Problems found; any of them refuses the message at its end. */
#define BODY_ERR_BARE_LF 0x1u   /* LF not preceded by CR  -> 550 5.6.11 */
#define BODY_ERR_BARE_CR 0x2u   /* CR not followed by LF  -> 550 5.6.11 */
#define BODY_ERR_LONG_LINE 0x4u /* a line longer than max_line octets incl. CRLF -> 552 5.3.4 */

enum body_event {
    BODY_EV_NONE = 0,    /* all input consumed (or out is full: check *outlen) */
    BODY_EV_END,         /* DATA: the terminating CRLF.CRLF was consumed */
    BODY_EV_HEADERS_END, /* the blank line that ends the header section is next;
                             nothing of it was consumed or written yet */
};

struct body_filter {
    enum body_mode mode;
    size_t max_line; /* octets incl. CRLF (1000) */
    /* internal state */
    int state;       /* see smtp_body.c */
    size_t line_len; /* wire octets of the current line so far */
    char prefix[12]; /* first octets of the line, lower-cased, while in headers */
    size_t prefix_len;
    /* facts for the caller */
    unsigned errors;    /* BODY_ERR_* */
    int in_headers;     /* 1 until the blank line after the header section */
    unsigned received;  /* "Received:" header fields seen */
    int saw_date;       /* "Date:" seen in the header section */
    int saw_message_id; /* "Message-ID:" seen */
    /* the first Message-ID field's value, unfolded, blanks and controls left out (for the log) */
    char message_id[256];
    size_t message_id_len;
    int message_id_state; /* see smtp_body.c */
    uint64_t out_total;   /* octets written so far */
};

void smtp_body_filter_init(struct body_filter *f, enum body_mode mode, size_t max_line);

/* Feed wire input.  Writes the message octets (unstuffed in DATA mode)
 * into out[0..outcap) and sets *outlen.  Returns the number of input octets
 * consumed, and *ev:
 *   BODY_EV_END: DATA end reached; input after it was not consumed (it is
 *     the next command).  The CRLF before the dot belongs to the message;
 *     the dot line does not.
 *   BODY_EV_HEADERS_END: stopped just before the blank line ending the
 *     header section (in_headers is now 0); call again to go on.  Lets the
 *     caller add header fields there.  Reported at most once.
 *   BODY_EV_NONE: stopped because the input ended or out was full.
 * Errors never stop the filter: it keeps looking for the end so the reply
 * comes at the right moment, and the caller refuses the message. */
size_t smtp_body_filter_feed(struct body_filter *f, const uint8_t *in, size_t len, uint8_t *out,
                             size_t outcap, size_t *outlen, enum body_event *ev);

/* BDAT LAST: the message is complete.  A CR still pending at the end is a
 * bare CR (sets BODY_ERR_BARE_CR). */
void smtp_body_filter_finish(struct body_filter *f);

/* Dot-stuff message octets for DATA: copies in to out, doubling a '.' at the start of each line,
 * and breaks a line longer than SMTP_TEXT_LINE_MAX octets (RFC 5321 4.5.3.1.6; the doubled dot
 * and the line end not counted) by inserting CR LF SPACE, as Postfix's smtp_line_length_limit
 * does: a header stays a (folded) header, a body line gets one space.  Never between a CR and its
 * LF.  The state carries across calls (start from {0}); out must hold 2*len + 3 octets.
 * Returns octets written. */
#define SMTP_TEXT_LINE_MAX 998
struct smtp_stuff {
    size_t col;          /* octets of the current line so far: 0 at a line's start */
    unsigned long folds; /* lines broken so far */
};
size_t smtp_dot_stuff(const uint8_t *in, size_t len, uint8_t *out, struct smtp_stuff *st);

#endif
