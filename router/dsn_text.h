/* dsn_text.h - the DSN composer's text writing: cleaning values, wrapping and folding lines, header fields (for dsn*.c). */
#ifndef SPOOLGATE_DSN_TEXT_H
#define SPOOLGATE_DSN_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DSN_LINE_MAX 998 /* octets of a line, CRLF excluded (RFC 5322 2.1.1) */
#define DSN_FOLD_AT 78   /* preferred line length (RFC 5322 2.1.1) */

/* Every writer appends to an sg_buf and, out of memory, sets its failed
 * flag and writes nothing more: the composer checks once at the end. */

/* Is v NULL, empty or only white space and control octets? */
int dsn_text_blank(const char *v);
/* A copy of v fit for one field: control octets become spaces, runs of
 * white space collapse to one space, none leading or trailing.  NULL when
 * out of memory. */
char *dsn_text_clean(const char *v);
/* Cut a cleaned value to at most max octets (not inside a UTF-8 sequence), marking the cut. */
void dsn_text_cut(char *v, size_t max);
/* Length of the line at p (up to, not incl., its end) and, in *eol, of its end (CRLF, LF, CR or 0). */
size_t dsn_text_line_at(const uint8_t *p, size_t n, size_t *eol);

/* "Name: prefix value suffix" CRLF, folded as a header field; value is cleaned here. */
void dsn_text_field(struct sg_buf *b, const char *name, const char *prefix, const char *value,
                    const char *suffix);
/* One line of human text: the pieces (up to a NULL) joined and cleaned, after first,
 * wrapped, continued after indent. */
void dsn_text_line(struct sg_buf *b, const char *first, const char *indent, ...);
/* The original's first n octets, lines ended by CRLF whatever they had, lines over the limit folded. */
void dsn_text_put_orig(struct sg_buf *b, const uint8_t *o, size_t n);

#endif
