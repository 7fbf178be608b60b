/* smtp_reply.h - pure pieces of the SMTP client: reply accumulation, enhanced codes, EHLO keywords. */
#ifndef SPOOLGATE_SMTP_REPLY_H
#define SPOOLGATE_SMTP_REPLY_H

#include <stddef.h>
#include <stdint.h>

#define SMTP_REPLY_TEXT_MAX 1024 /* text kept of one reply (all lines joined by " / ") */

struct smtp_reply {
    int code;          /* 3 digits; 0 until complete */
    char enhanced[16]; /* "5.1.1" if the reply carries one, else "" */
    char text
        [SMTP_REPLY_TEXT_MAX]; /* "550 5.1.1 <x>: user unknown" - first line with code, more lines appended */
    size_t text_len;
    unsigned lines;
    int complete;
};

/* Feed server output.  Consumes whole lines (CRLF, or bare LF tolerated)
 * until one reply is complete, returns the octets consumed (partial lines
 * are left for the next call).  -1 on a malformed reply (line not starting
 * with 3 digits and ' ' or '-', different codes in one reply, a line over
 * 2048 octets, more than 100 lines).  Call smtp_reply_reset() before each
 * new reply. */
long smtp_reply_feed(struct smtp_reply *r, const char *in, size_t len);
void smtp_reply_reset(struct smtp_reply *r);

/* EHLO keywords we care about. */
#define EHLO_PIPELINING 0x01u
#define EHLO_SIZE 0x02u
#define EHLO_8BITMIME 0x04u
#define EHLO_STARTTLS 0x08u
#define EHLO_DSN 0x10u
#define EHLO_SMTPUTF8 0x20u
#define EHLO_ENHANCED 0x40u
#define EHLO_CHUNKING 0x80u
#define EHLO_AUTH_PLAIN 0x100u /* AUTH (or the old AUTH=) lists PLAIN (RFC 4954, 4616) */
#define EHLO_AUTH_LOGIN 0x200u /* ... LOGIN */

struct ehlo_caps {
    unsigned flags;
    uint64_t size_limit; /* SIZE n; 0 = none given */
};

/* Parse the lines of a complete 250 EHLO reply as raw text (lines separated
 * by CRLF, each "250-KEYWORD params" / "250 KEYWORD"); the first line (the
 * server's name) is skipped. */
void smtp_ehlo_parse(const char *raw, size_t len, struct ehlo_caps *caps);

#endif
