/* po_format.h - pure parsers and writers for the legacy postoffice share: names, addresses, GLB files, P1 transfer files. */
#ifndef SPOOLGATE_PO_FORMAT_H
#define SPOOLGATE_PO_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

/*
 * Everything here follows doc/POSTOFFICE.md.  No function does I/O or keeps
 * state; only po_address_glb_parse, po_p1_parse, po_p1_format(_head) allocate,
 * and say so.  Functions that can fail with a reason take a struct po_err
 * (may be NULL): on failure its text holds one line naming the line number
 * (where there is one) and why, e.g. "line 3: duplicate Message-Id (first
 * on line 2)".
 */

#define PO_NAME_MAX 10                          /* network, postoffice, mailbox: 1-10 of A-Z 0-9 */
#define PO_LEGACY_MAX (3 + 3 * PO_NAME_MAX + 2) /* "MS:" NET "/" PO "/" BOX */
#define PO_DISPLAY_MAX 127                      /* display name in ADDRESS.GLB */
#define PO_LINE_MAX 998                         /* longest P1 control line, CRLF not counted */
#define PO_MSGID_MAX 250    /* Message-Id value incl. <>; fits an IPC_ORIGIN_MAX key */
#define PO_DATE_MAX 127     /* Date value */
#define PO_SUBJECT_MAX 989  /* Subject value: "Subject: " + 989 = 998 */
#define PO_P1_RCPT_MAX 1000 /* To: lines in one transfer file */
#define PO_P1_NAME_LEN 11   /* "0A1B2C3D.P1" */
#define PO_ERR_MAX 256

/* A failure reason; the caller owns the buffer. */
struct po_err {
    char text[PO_ERR_MAX];
};

/* A legacy address MS:NETWORK/POSTOFFICE/MAILBOX, each part a valid name. */
struct po_addr {
    char network[PO_NAME_MAX + 1];
    char postoffice[PO_NAME_MAX + 1];
    char mailbox[PO_NAME_MAX + 1];
};

/* GLB/NETWORK.GLB: who this postoffice is. */
struct po_network {
    char network[PO_NAME_MAX + 1];
    char postoffice[PO_NAME_MAX + 1];
};

/* One line of GLB/ADDRESS.GLB. */
struct po_dir_entry {
    char mailbox[PO_NAME_MAX + 1];
    char display[PO_DISPLAY_MAX + 1]; /* may be ""; bytes >= 0x80 kept as they are */
    unsigned line;                    /* line number in ADDRESS.GLB */
};

/* GLB/ADDRESS.GLB: entries sorted by mailbox name, no duplicates. */
struct po_dir {
    struct po_dir_entry *entries; /* allocated; NULL when count is 0 */
    size_t count;
};

/* An address in a P1 From: or To: line. */
enum po_p1_kind {
    PO_P1_SMTP = 1, /* "SMTP:user@domain" */
    PO_P1_MS = 2,   /* "MS:NET/PO/BOX" */
};

struct po_p1_addr {
    enum po_p1_kind kind;
    /* PO_P1_SMTP: the address after "SMTP:" (a UTF-8 one decoded from its
     * RFC 6533 form: po_p1_format writes it so), never empty (the format has no
     * null sender: the gateway must put a real address, e.g.
     * MAILER-DAEMON@<postoffice domain>, in From: of a bounce);
     * PO_P1_MS: the whole "MS:NET/PO/BOX". */
    char text[IPC_ADDR_MAX + 1];
    struct po_addr ms; /* PO_P1_MS: the parts (set by po_p1_parse; po_p1_format ignores it) */
};

/* The control lines of a transfer file and where its message lies. */
struct po_p1 {
    char message_id[PO_MSGID_MAX + 1]; /* "<id@host>" */
    struct po_p1_addr from;
    struct po_p1_addr *to; /* nto >= 1 entries; allocated by po_p1_parse */
    size_t nto;
    char date[PO_DATE_MAX + 1];
    char subject[PO_SUBJECT_MAX + 1]; /* may be "" */
    size_t body_off;                  /* po_p1_parse: message = buf[body_off .. +body_len) */
    size_t body_len;
};

/* ---- names and legacy addresses ---------------------------------------- */

/* 1 if s[0..len) is a valid network/postoffice/mailbox name (1-10 octets of
 * upper-case A-Z and 0-9), else 0. */
int po_name_valid(const char *s, size_t len);

/* Parse s[0..len) = "MS:NETWORK/POSTOFFICE/MAILBOX" (prefix and names
 * exactly as written: upper case, no spaces) into out.  0, or -1 with err. */
int po_legacy_parse(const char *s, size_t len, struct po_addr *out, struct po_err *err);

/* Write "MS:NET/PO/BOX" for a into out (outsz bytes incl. NUL; PO_LEGACY_MAX
 * + 1 always suffices).  Returns the length, or -1 when a part is not a
 * valid name or out is too small (out is then ""). */
int po_legacy_format(const struct po_addr *a, char *out, size_t outsz);

/* ---- GLB files --------------------------------------------------------- */

/* Parse NETWORK.GLB text[0..len): lines KEY=VALUE ended by CRLF or LF (the
 * last line may lack one), keys NETWORK and POSTOFFICE (case-insensitive),
 * each exactly once, values valid names; spaces and tabs around key and
 * value are ignored, blank lines skipped.  Unknown keys, lines without '=',
 * NUL, bare CR, other control or non-ASCII octets are errors naming the
 * line.  0, or -1 with err (net is then zeroed). */
int po_network_glb_parse(const char *text, size_t len, struct po_network *net, struct po_err *err);

/* Parse ADDRESS.GLB text[0..len): one MAILBOX<TAB>Display Name per line,
 * CRLF or LF, blank lines skipped.  The mailbox must be a valid name as it
 * stands; the display name (spaces/tabs around it trimmed) may be empty, is
 * at most PO_DISPLAY_MAX octets, has no control octets, and may hold octets
 * >= 0x80.  Bad lines and duplicate mailboxes are errors naming the line(s).
 * On success dir->entries is allocated (free with po_dir_free) and sorted;
 * on failure dir is empty and nothing is allocated.  0 or -1 with err. */
int po_address_glb_parse(const char *text, size_t len, struct po_dir *dir, struct po_err *err);

/* Release what po_address_glb_parse allocated; dir becomes empty.  NULL-safe. */
void po_dir_free(struct po_dir *dir);

/* The entry for mailbox (NUL-terminated, any case, e.g. "jsmith"), or NULL
 * when there is none or the text cannot be a mailbox name. */
const struct po_dir_entry *po_dir_find(const struct po_dir *dir, const char *mailbox);

/* ---- SMTP <-> legacy address mapping ----------------------------------- */

/* Map addr "local@domain" (NUL-terminated, no angle brackets, at most
 * IPC_ADDR_MAX octets) to net's postoffice: out = {net->network,
 * net->postoffice, LOCAL upper-cased}.  Fails with a reason when the domain
 * (compared case-insensitively, split at the last '@') is not po_domain, or
 * the local part is not a valid mailbox name in any case (empty, longer than
 * 10, anything but letters and digits).  Does not consult ADDRESS.GLB.
 * 0, or -1 with err. */
int po_smtp_to_legacy(const char *addr, const char *po_domain, const struct po_network *net,
                      struct po_addr *out, struct po_err *err);

/* Map legacy "MS:NET/PO/BOX" (NUL-terminated) of net's own postoffice to
 * "box@po_domain" (mailbox lower-cased, domain as given) in out.  Returns 0,
 * or -1 (out is then "") when legacy does not parse, names another network
 * or postoffice, or the result would exceed IPC_ADDR_MAX. */
int po_legacy_to_smtp(const char *legacy, const char *po_domain, const struct po_network *net,
                      char out[IPC_ADDR_MAX + 1]);

/* ---- UTF-8 addresses in US-ASCII (RFC 6533) ----------------------------- */

/* Write the UTF-8 address addr (NUL-terminated) in the RFC 6533
 * utf-8-addr-xtext form into out (outsz octets incl. the NUL): each RFC 6533
 * QCHAR (printable US-ASCII but '+', '=', '\') as itself, every other
 * character (a space, '+', '=', '\', anything beyond US-ASCII) as "\x{HEX}",
 * upper-case hex of its code point, at least two digits, no further leading
 * zero.  Returns the length, or -1 (out is then "") when addr is not
 * well-formed UTF-8, holds a control character or does not fit. */
int po_utf8_addr_encode(const char *addr, char *out, size_t outsz);

/* Decode s[0..len), which must be exactly what po_utf8_addr_encode writes
 * for some text (so that writing it again gives s back), into out (outsz
 * octets incl. a NUL).  Returns the decoded length, or -1 (out is then "")
 * when s is empty, is not in that form, or does not fit. */
long po_utf8_addr_decode(const char *s, size_t len, char *out, size_t outsz);

/* ---- P1 transfer files ------------------------------------------------- */

/* Parse a whole transfer file buf[0..len).  Control lines up to the first
 * empty line: each ends in CRLF, is at most PO_LINE_MAX octets, US-ASCII
 * without NUL or control octets (TAB only in Date and Subject values), no
 * continuation lines; "Name: value" with case-insensitive names and one
 * optional space after the colon.  "P1-Version: 1" first; Message-Id, From,
 * Date, Subject exactly once; To one or more times (up to PO_P1_RCPT_MAX);
 * any other name is an error.  From and To are SMTP:<address> or
 * MS:NET/PO/BOX.  The SMTP address is an RFC 5321 mailbox in US-ASCII (a
 * dot-atom or quoted-string local part of at most 64 octets, a domain name
 * whose labels may begin or end with '-', or an address literal [192.0.2.1]
 * / [IPv6:...]); or, when it is not one, a UTF-8 (RFC 6531) mailbox in the
 * form po_utf8_addr_encode writes, which p1->...text then holds decoded.
 * Everything after the empty line is the message,
 * unchanged and not empty: p1->body_off/body_len point into buf.  On success
 * p1->to is allocated (po_p1_free); on failure nothing is allocated, p1 is
 * zeroed and err says which line and why.  0 or -1. */
int po_p1_parse(const uint8_t *buf, size_t len, struct po_p1 *p1, struct po_err *err);

/* Check a Message-Id value v[0..n) as po_p1_parse does: at most
 * PO_MSGID_MAX octets, "<left@right>" with neither side empty, printable
 * US-ASCII without '<' or '>' inside.  0, or -1 with *why (static English). */
int po_p1_msgid_check(const char *v, size_t n, const char **why);

/* Check a Date value v[0..n) as po_p1_parse does: not empty, at most
 * PO_DATE_MAX octets, printable US-ASCII or TAB, at least one digit.  0, or
 * -1 with *why. */
int po_p1_date_check(const char *v, size_t n, const char **why);

/* Check that a (kind and text as po_p1_format takes them) can be written on
 * a From: or To: line and parses back to itself: a UTF-8 SMTP address must
 * have an RFC 6533 form that fits a control line and does not itself read
 * as a US-ASCII address (which it does when a quoted local part holds the
 * non-ASCII characters).  0, or -1 with err. */
int po_p1_addr_check(const struct po_p1_addr *a, struct po_err *err);

/* Release what po_p1_parse allocated (p1->to); NULL-safe, idempotent. */
void po_p1_free(struct po_p1 *p1);

/* Append a transfer file for in (its body_off/body_len and to[].ms are
 * ignored) and the message body[0..bodylen) (bodylen >= 1, copied as-is) to
 * out, growing it.  Checks every field as po_p1_parse would, so the result
 * always parses back to the same values; refuses CR or LF inside a value
 * (header injection).  An SMTP address with octets >= 0x80 is written in its
 * RFC 6533 form (po_utf8_addr_encode).  0, or -1 with err and out->len unchanged. */
int po_p1_format(const struct po_p1 *in, const uint8_t *body, size_t bodylen, struct sg_buf *out,
                 struct po_err *err);

/* The same checks as po_p1_format, but append only the control lines and
 * the empty line that ends them: the message (bodylen >= 1 octets) is to be
 * written right after them by the caller, so that it is never copied.
 * 0, or -1 with err and out->len unchanged. */
int po_p1_format_head(const struct po_p1 *in, size_t bodylen, struct sg_buf *out,
                      struct po_err *err);

/* ---- a message's header section into control lines (po_map.c) --------- */

/* The value of the first header field called name (any case; white space
 * before the colon taken) in the header section of msg[0..len) (up to its
 * first empty line; lines end in LF or CRLF): unfolded (the line break before
 * each continuation line removed, its white space kept), without white space
 * at either end, octets as they are.  At most outsz - 1 octets (outsz >= 1)
 * and a NUL go into out.  Returns the length, or -1 (out is then "") when
 * there is no such field. */
long po_map_header(const uint8_t *msg, size_t len, const char *name, char *out, size_t outsz);

/* A Message-ID field value v[0..n) as a Message-Id control line: the value,
 * or else the first "<...>" in it (a comment after it), when
 * po_p1_msgid_check takes it.  0 with it in out, or -1 (out "") when neither
 * does ("<@x>", "<x@>", a space, an octet >= 0x80, longer than
 * PO_MSGID_MAX): the caller makes one up. */
int po_map_msgid(const char *v, size_t n, char out[PO_MSGID_MAX + 1]);

/* A Date field value v[0..n) as a Date control line: the RFC 5322 date-time
 * at its start ([day-of-week ","] day month year hh:mm[:ss] zone; two- and
 * three-digit years and the obsolete zone names taken, comments only after
 * the zone, which are left out).  0 with it in out, or -1 (out "") when v is
 * no such date or po_p1_date_check refuses it: the caller writes the arrival
 * time instead. */
int po_map_date(const char *v, size_t n, char out[PO_DATE_MAX + 1]);

/* A Subject field value v[0..n) in US-ASCII for a Subject control line, into
 * out (outsz >= 1 octets incl. the NUL; at most 1023 octets of v are looked
 * at): control characters (C0, DEL, C1) dropped, TAB kept.  Without octets
 * >= 0x80 the rest is carried as it stands.  Otherwise each run of words
 * holding such octets becomes RFC 2047 encoded-words "=?UTF-8?B?...?=" of
 * at most 45 octets of UTF-8 (72 characters; ill-formed octets become
 * U+FFFD), never splitting a character; US-ASCII words and the blanks
 * between them stay.  Cut to outsz - 1 octets, never inside an encoded-word
 * or a character.  Returns the length. */
size_t po_map_subject(const char *v, size_t n, char *out, size_t outsz);

/* 1 if name (NUL-terminated) is exactly 8 upper-case hex digits + ".P1",
 * else 0. */
int po_p1_name_valid(const char *name);

/* Write the file name for n, "%08X.P1" (11 characters and a NUL), into out. */
void po_p1_name_make(uint32_t n, char out[13]);

#endif
