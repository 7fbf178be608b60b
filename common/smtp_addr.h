/* smtp_addr.h - the one validator of SMTP mailboxes, domains and <paths>, with flags for what a caller refuses or also accepts. */
#ifndef SPOOLGATE_SMTP_ADDR_H
#define SPOOLGATE_SMTP_ADDR_H

#include <stddef.h>

#define SMTP_PATH_MAX 256    /* RFC 5321 4.5.3.1.3: path incl. angle brackets */
#define SMTP_MAILBOX_MAX 254 /* the mailbox inside such a path */
#define SMTP_LOCAL_MAX 64    /* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX 255  /* RFC 5321 4.5.3.1.2 */
#define SMTP_LABEL_MAX 63    /* RFC 1035 2.3.4 */

/*
 * Without flags a mailbox is what RFC 5321 4.1.2 allows: local-part "@"
 * domain, the local part a dot-atom or a quoted-string of at most 64
 * octets, the domain LDH labels (1..63 octets, no '-' at either end) or an
 * address literal [1.2.3.4] / [IPv6:...], at most 254 octets in all, ASCII
 * only.  The flags change that:
 */
#define SMTP_ADDR_UTF8 0x01u       /* accept UTF-8 in local part and labels (SMTPUTF8, RFC 6531) */
#define SMTP_ADDR_NO_QUOTED 0x02u  /* refuse a quoted-string local part */
#define SMTP_ADDR_NO_LITERAL 0x04u /* refuse an address literal as the domain */
#define SMTP_ADDR_NULL 0x08u       /* accept the empty address (the null path <>) */
#define SMTP_ADDR_POSTMASTER 0x10u /* accept "postmaster" without a domain (any case; paths only) */
#define SMTP_ADDR_LAX_HYPHEN 0x20u /* accept a label that begins or ends with '-' */
#define SMTP_ADDR_LAX_LENGTH 0x40u /* no 254-octet limit on the whole (64 + 1 + 255 still hold) */

/* Check the mailbox s[0..len) (no angle brackets).  0 when it is one, or
 * -1 with *why (when why is not NULL) set to a static English reason such
 * as "empty label in domain".  SMTP_ADDR_POSTMASTER is not looked at here. */
int smtp_addr_check(const char *s, size_t len, unsigned flags, const char **why);

/* 1 when s[0..len) is a mailbox under RFC 5321 (and UTF-8 when utf8_ok), else 0. */
int smtp_mailbox_valid(const char *s, size_t len, int utf8_ok);

/* Check a domain name s[0..len) (not a literal): LDH labels joined by single
 * dots, at most 255 octets, no trailing dot; SMTP_ADDR_UTF8 and
 * SMTP_ADDR_LAX_HYPHEN apply.  0, or -1 with *why. */
int smtp_domain_check(const char *s, size_t len, unsigned flags, const char **why);

/* Check an EHLO/HELO argument s[0..len): a domain (LDH labels, as smtp_domain_check, with '_'
 * also taken and one trailing dot allowed) or an address literal [1.2.3.4] / [IPv6:...].
 * 0, or -1 with *why (a static English reason). */
int smtp_helo_check(const char *s, size_t len, const char **why);

/* The domain part after the last '@' ("" if none). */
const char *smtp_addr_domain(const char *addr);

/* Parse the path starting at a[p], which must be '<': an optional source
 * route "@dom,@dom:" (checked, then dropped) and a mailbox checked with
 * flags, then '>'; SMTP_ADDR_NULL admits "<>", SMTP_ADDR_POSTMASTER
 * "<postmaster>".  The path may be at most SMTP_PATH_MAX octets.  Returns 0
 * with *mb_off / *mb_len the mailbox in a (length 0 for the null path) and
 * *end the index just after '>', or -1. */
int smtp_path_parse(const char *a, size_t len, size_t p, unsigned flags, size_t *mb_off,
                    size_t *mb_len, size_t *end);

#endif
