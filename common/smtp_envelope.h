/* smtp_envelope.h - what an envelope may hold whoever wrote it: the store checks every submission against it, the router every message it sends. */
#ifndef SPOOLGATE_SMTP_ENVELOPE_H
#define SPOOLGATE_SMTP_ENVELOPE_H

#include <stddef.h>

/*
 * The widest envelope any submitter produces, and nothing that could break
 * a command line: smtpd's mailboxes (UTF-8, quoted local parts, address
 * literals), the postoffice's (labels with '-' at either end, no 254-octet
 * limit), the null sender, the bare "postmaster" recipient of RFC 5321 4.5.1.
 * CR, LF, NUL and the other controls are never in it, and what is there is
 * a valid RFC 5321 mailbox, so it can be written into a command line as it
 * is.  Each returns 0, or -1 with *why (when why is not NULL) a static
 * English reason.
 */
int smtp_envelope_sender_check(const char *addr, const char **why); /* "" is the null sender */
int smtp_envelope_rcpt_check(const char *addr, const char **why);
/* ENVID: "" (none) or at most 100 octets of xtext (RFC 3461 4.4). */
int smtp_envelope_envid_check(const char *envid, const char **why);
/* ORCPT: "" (none) or "addr-type;xtext", at most 500 octets (RFC 3461 4.2). */
int smtp_envelope_orcpt_check(const char *orcpt, const char **why);
/* The same check on orcpt[0..len) (not NUL-terminated): 1 valid, 0 not. */
int smtp_envelope_orcpt_valid(const char *orcpt, size_t len);

#endif
