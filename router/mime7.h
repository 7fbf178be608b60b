/* mime7.h - 8-bit mail made 7-bit for a server without 8BITMIME (RFC 6152 3, RFC 2045): each leaf part not already base64 or quoted-printable is re-encoded quoted-printable, MIME structure and headers kept. */
#ifndef SPOOLGATE_MIME7_H
#define SPOOLGATE_MIME7_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MIME7_DEPTH_MAX 16          /* nested multiparts followed; deeper ones pass as they are */
#define MIME7_BOUNDARY_MAX 70       /* RFC 2046 5.1.1 */
#define MIME7_LINE_HOLD (64 * 1024) /* a body line longer than this goes out in pieces */

enum mime7_state {
    MIME7_HEADER, /* an entity's header section */
    MIME7_QP,     /* a leaf body being encoded */
    MIME7_PASS,   /* a body (already 7-bit encoded), preamble or epilogue: as it is */
};

/* The converter.  Start from router_mime7_init; the message in any pieces through router_mime7_feed, then
 * router_mime7_finish.  Headers are never changed but for Content-Transfer-Encoding (and MIME-Version
 * added to a message that had none); 8-bit octets in a header stay (as Postfix leaves them). */
struct mime7 {
    enum mime7_state state;
    struct sg_buf line;  /* the line being gathered */
    int mid_line;        /* the start of the current body line went out already */
    struct sg_buf field; /* the header field being gathered (its continuation lines too) */
    int depth;           /* boundaries[0..depth) are the enclosing multiparts' */
    char boundaries[MIME7_DEPTH_MAX][MIME7_BOUNDARY_MAX + 1];
    /* the entity whose header is being read */
    int top; /* the message itself (MIME-Version matters) */
    int mime_version;
    int is_multipart, is_message;
    char boundary[MIME7_BOUNDARY_MAX + 1];
    char cte[32];       /* its Content-Transfer-Encoding, lower case, "" if none */
    unsigned converted; /* parts re-encoded */
};

void router_mime7_init(struct mime7 *m);
void router_mime7_free(struct mime7 *m);
/* The next octets of the message (CR LF lines); what goes out is appended to out.  -1: out of
 * memory. */
int router_mime7_feed(struct mime7 *m, const uint8_t *in, size_t len, struct sg_buf *out);
/* The end of the message: a last line without its end goes out too.  -1: out of memory. */
int router_mime7_finish(struct mime7 *m, struct sg_buf *out);

#endif
