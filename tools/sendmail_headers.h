/* sendmail_headers.h - the pure message pieces of spoolgate-sendmail: the header block, address lists (To/Cc/Bcc, groups, comma lists), qualification. */
#ifndef SPOOLGATE_SENDMAIL_HEADERS_H
#define SPOOLGATE_SENDMAIL_HEADERS_H

#include <stddef.h>

/* A list of addresses (each malloc'd), as the recipients of one message. */
struct smh_addrs {
    char **v;
    size_t n, cap;
};

/* Where the header block of msg (CRLF lines) ends: the offset of the first line that is
 * neither a field ("name:") nor a continuation (leading space or tab).  *body is set to the
 * offset after the empty line that separates it from the body, or to the same offset when
 * no empty line does (a body that starts at once). */
size_t smh_header_end(const char *msg, size_t len, size_t *body);
/* 1 when the header block hdr[0..len) has a field called name (case-insensitive). */
int smh_has_field(const char *hdr, size_t len, const char *name);
/* Remove every field called name with its continuation lines, in place; the new length. */
size_t smh_remove_field(char *hdr, size_t len, const char *name);
/* Every address in the fields called name (continuation lines unfolded) appended to out.
 * 0, or -1 when out of memory. */
int smh_field_addrs(const char *hdr, size_t len, const char *name, struct smh_addrs *out);
/* An RFC 5322 address list (display names, <angle addresses>, comments, quoted strings,
 * groups "name: a, b;"), as headers and the command line give them: each addr-spec appended
 * to out.  0, or -1 when out of memory. */
int smh_parse_list(const char *text, size_t len, struct smh_addrs *out);
int smh_addrs_add(struct smh_addrs *a, const char *addr, size_t len);
void smh_addrs_free(struct smh_addrs *a);
/* addr, with "@origin" appended when it has no domain ("root" -> "root@origin") into out.
 * 0, or -1 when it does not fit. */
int smh_qualify(const char *addr, const char *origin, char *out, size_t outsz);

#endif
