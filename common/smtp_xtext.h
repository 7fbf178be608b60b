/* smtp_xtext.h - RFC 3461 xtext (ENVID, ORCPT): checked, encoded and decoded. */
#ifndef SPOOLGATE_SMTP_XTEXT_H
#define SPOOLGATE_SMTP_XTEXT_H

#include <stddef.h>

/* xtext: printable ASCII 33..126 except '+' and '=', or "+XX" with
 * upper-case hex.  1 when s[0..len) is xtext, 0 when not. */
int smtp_xtext_valid(const char *s, size_t len);

/* xtext-encode the NUL-terminated s (NULL = "") into out (outsz octets incl.
 * the NUL).  0, or -1 when it does not fit (out is then "" if outsz > 0). */
int smtp_xtext_encode(const char *s, char *out, size_t outsz);

/* Decode the xtext s[0..len) into out (outsz octets incl. a NUL added after
 * the result).  Returns the decoded length (a "+00" gives a NUL octet inside
 * it), or -1 when s is not xtext or the result does not fit (out is then ""
 * if outsz > 0). */
long smtp_xtext_decode(const char *s, size_t len, char *out, size_t outsz);

#endif
