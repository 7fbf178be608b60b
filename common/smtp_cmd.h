/* smtp_cmd.h - pure parsers of SMTP command lines and of the MAIL, RCPT and BDAT arguments with their ESMTP parameters. */
#ifndef SPOOLGATE_SMTP_CMD_H
#define SPOOLGATE_SMTP_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_addr.h"

#define SMTP_ENVID_MAX 100 /* RFC 3461 4.4 */
#define SMTP_ORCPT_MAX 500 /* RFC 3461 4.2: "rfc822;" + xtext */

enum smtp_verb {
    SMTP_V_UNKNOWN = 0,
    SMTP_V_EHLO,
    SMTP_V_HELO,
    SMTP_V_MAIL,
    SMTP_V_RCPT,
    SMTP_V_DATA,
    SMTP_V_BDAT,
    SMTP_V_RSET,
    SMTP_V_NOOP,
    SMTP_V_QUIT,
    SMTP_V_HELP,
    SMTP_V_VRFY,
    SMTP_V_EXPN,
    SMTP_V_STARTTLS,
    SMTP_V_AUTH,
    SMTP_V_COUNT
};

/* A reply the parser wants sent: code and text starting with the enhanced
 * status code, e.g. {501, "5.1.3 Bad recipient address syntax"}. */
struct smtp_error {
    int code;
    char text[160];
};

/* Set err (when not NULL) to code and text; returns -1.  And clear it. */
int smtp_error_set(struct smtp_error *err, int code, const char *text);
void smtp_error_clear(struct smtp_error *err);

struct smtp_cmd {
    enum smtp_verb verb;
    const char *arg; /* after the verb and the spaces that follow; "" if none */
    size_t arg_len;
};

/* Split one command line (without its CRLF) into verb and argument.  Verbs
 * are case-insensitive; a line of only spaces or an unknown verb gives
 * SMTP_V_UNKNOWN.  Returns 0, or -1 with err set when the line holds a NUL
 * or another control character other than TAB (500 5.5.2). */
int smtp_parse_command(const char *line, size_t len, struct smtp_cmd *cmd, struct smtp_error *err);
const char *smtp_verb_name(enum smtp_verb v);

enum smtp_body_type { SMTP_BODY_UNSPEC = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_UNSPEC = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

struct smtp_mail_args {
    char sender[SMTP_PATH_MAX + 1]; /* path without <> and source route; "" = null sender */
    int has_size;
    uint64_t size;
    enum smtp_body_type body;
    int smtputf8;
    enum smtp_ret ret;
    char envid[SMTP_ENVID_MAX + 1]; /* xtext as received (validated), "" if absent */
};

#define SMTP_NOTIFY_NEVER 0x1u /* same bits as IPC_NOTIFY_* */
#define SMTP_NOTIFY_SUCCESS 0x2u
#define SMTP_NOTIFY_FAILURE 0x4u
#define SMTP_NOTIFY_DELAY 0x8u

struct smtp_rcpt_args {
    char rcpt[SMTP_PATH_MAX + 1];   /* path without <> and source route */
    unsigned notify;                /* 0 = not given */
    char orcpt[SMTP_ORCPT_MAX + 1]; /* "addr-type;xtext" as received, "" if absent */
};

/* Parse the argument of MAIL ("FROM:<a@b> SIZE=10 BODY=8BITMIME ...").
 * One optional space after the colon is tolerated.  Errors:
 *   501 5.5.4  no FROM: / junk / duplicate or malformed parameter value
 *   501 5.1.7  bad sender address syntax
 *   555 5.5.4  unknown parameter
 *   504 5.5.4  unsupported BODY value (BINARYMIME)
 * AUTH=<...> is accepted and ignored.  UTF-8 in the address is allowed
 * only when SMTPUTF8 is among the parameters. */
int smtp_parse_mail(const char *arg, size_t len, struct smtp_mail_args *out,
                    struct smtp_error *err);

/* Parse the argument of RCPT ("TO:<a@b> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a@b").
 * <postmaster> (no domain) is accepted.  Errors: 501 5.5.4 syntax,
 * 501 5.1.3 bad recipient address, 555 5.5.4 unknown parameter,
 * 501 5.5.4 NEVER combined with other NOTIFY values.
 * utf8_ok: the transaction declared SMTPUTF8. */
int smtp_parse_rcpt(const char *arg, size_t len, int utf8_ok, struct smtp_rcpt_args *out,
                    struct smtp_error *err);

/* Parse "BDAT <size> [LAST]".  Returns 0 with *size and *last, or -1 with
 * err 501 5.5.4. */
int smtp_parse_bdat(const char *arg, size_t len, uint64_t *size, int *last, struct smtp_error *err);

#endif
