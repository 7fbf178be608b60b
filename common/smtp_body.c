/* smtp_body.c - pure message body pieces: the DATA/BDAT receive filter (strict CRLF.CRLF end, unstuffing, bare CR/LF, line length, header facts) and dot-stuffing. */
#include "smtp_body.h"

#include <string.h>

#include "smtp_char.h"

/*
 * The filter is a byte-at-a-time state machine whose whole state lives in
 * struct body_filter, so input may arrive split anywhere and the output is
 * the same however it is split or however small the output buffer is.
 *
 * A "line" ends only at CR LF.  A bare LF or bare CR is flagged and passed
 * through as an ordinary octet of the current line: it never starts a new
 * line, so it can neither begin a DATA terminator nor a header field.
 *
 * Every step writes at most one octet, so an output buffer of one octet is
 * enough to make progress.  A text CR is written as soon as it is consumed
 * (it is part of the message whether or not an LF follows).  The only octets
 * consumed without being written yet are a dot at the start of a DATA line
 * and a CR right after it: they might be the terminator.  The dot is never
 * written (it is the terminator or a stuffing dot); the CR is written once an
 * octet other than LF follows it.
 */
enum body_state {
    ST_LINE_START = 0, /* at the start of a line (message start or after CR LF);
                          nothing is held back */
    ST_TEXT,           /* inside a line; nothing is held back */
    ST_CR,             /* inside a line, the last octet was a CR and it has
                          already been written; an LF ends the line, anything
                          else makes that CR bare */
    ST_DOT,            /* DATA only: a "." at line start was consumed and not
                          written (held back) */
    ST_DOT_CR,         /* DATA only: "." CR at line start were consumed and not
                          written (both held back); an LF completes the
                          terminator */
    ST_END,            /* DATA only: CRLF "." CRLF was consumed; the filter
                          takes no more input */
};

#define CH_CR 0x0d
#define CH_LF 0x0a

/* Count one consumed wire octet toward the current line's length. */
static void count_octet(struct body_filter *f)
{
    if (f->max_line == 0)
        return;
    if (f->line_len <= f->max_line) /* saturates at max_line + 1 */
        f->line_len++;
    if (f->line_len > f->max_line)
        f->errors |= BODY_ERR_LONG_LINE;
}

static int prefix_is(const struct body_filter *f, const char *name)
{
    size_t n = strlen(name);

    return f->prefix_len == n && memcmp(f->prefix, name, n) == 0;
}

/* The Message-ID value: its field's line and the folded lines after it. */
enum { MID_NONE, MID_IN, MID_FOLD, MID_DONE };

static void note_message_id(struct body_filter *f, uint8_t c)
{
    if (f->message_id_state == MID_FOLD && f->prefix_len == 0)
        f->message_id_state = c == ' ' || c == '\t' ? MID_IN : MID_DONE;
    if (f->message_id_state != MID_IN || c <= 0x20 || c >= 0x7f ||
        f->message_id_len + 1 >= sizeof(f->message_id))
        return;
    f->message_id[f->message_id_len++] = (char)c;
    f->message_id[f->message_id_len] = '\0';
}

/* While in the header section, collect the first octets of each line
 * (after unstuffing) to recognise a few field names at the colon. */
static void note_header_octet(struct body_filter *f, uint8_t c)
{
    if (f->in_headers)
        note_message_id(f, c);
    if (!f->in_headers || f->prefix_len >= sizeof(f->prefix))
        return;
    f->prefix[f->prefix_len++] = (char)smtp_to_lower(c);
    if (c != ':')
        return;
    if (prefix_is(f, "received:")) {
        if (f->received != (unsigned)-1)
            f->received++;
    } else if (prefix_is(f, "date:")) {
        f->saw_date = 1;
    } else if (prefix_is(f, "message-id:")) {
        if (!f->saw_message_id)
            f->message_id_state = MID_IN;
        f->saw_message_id = 1;
    }
    f->prefix_len = sizeof(f->prefix); /* this line's name is decided */
}

static void end_of_line(struct body_filter *f)
{
    if (f->message_id_state == MID_IN)
        f->message_id_state = MID_FOLD;
    f->line_len = 0;
    f->prefix_len = 0;
    f->state = ST_LINE_START;
}

void smtp_body_filter_init(struct body_filter *f, enum body_mode mode, size_t max_line)
{
    memset(f, 0, sizeof(*f));
    f->mode = mode;
    f->max_line = max_line;
    f->state = ST_LINE_START;
    f->in_headers = 1;
}

/* Where one call of smtp_body_filter_feed stands. */
struct feed_pos {
    uint8_t *out;
    size_t outcap;
    size_t o; /* octets written */
    size_t i; /* input octets consumed */
    enum body_event ev;
};

/*
 * One step per state on the next input octet c: consume it (x->i++) or
 * leave it for the next state, write at most one octet, move on.  Each
 * returns 1 when the call must stop here (out full, or an event).
 */
static int step_line_start(struct body_filter *f, struct feed_pos *x, uint8_t c)
{
    if (f->in_headers && c == CH_CR) {
        /* The blank line (or, if no LF follows, a bare-CR line that the
         * message is refused for anyway) ends the header section.  Stop
         * before touching its CR. */
        f->in_headers = 0;
        x->ev = BODY_EV_HEADERS_END;
        return 1;
    }
    if (f->mode == BODY_MODE_DATA && c == '.') {
        count_octet(f);
        x->i++;
        f->state = ST_DOT;
        return 0;
    }
    f->state = ST_TEXT; /* c is handled as text next */
    return 0;
}

static int step_text(struct body_filter *f, struct feed_pos *x, uint8_t c)
{
    if (x->o == x->outcap)
        return 1;
    count_octet(f);
    if (c == CH_CR)
        f->state = ST_CR;
    else if (c == CH_LF)
        f->errors |= BODY_ERR_BARE_LF;
    note_header_octet(f, c);
    x->out[x->o++] = c;
    x->i++;
    return 0;
}

static int step_cr(struct body_filter *f, struct feed_pos *x, uint8_t c)
{
    if (c != CH_LF) {
        f->errors |= BODY_ERR_BARE_CR;
        f->state = ST_TEXT; /* c is handled as text next */
        return 0;
    }
    if (x->o == x->outcap)
        return 1;
    count_octet(f);
    x->out[x->o++] = c;
    x->i++;
    end_of_line(f);
    return 0;
}

static int step_dot(struct body_filter *f, struct feed_pos *x, uint8_t c)
{
    if (c == CH_CR) {
        count_octet(f);
        x->i++;
        f->state = ST_DOT_CR;
        return 0;
    }
    /* Not the terminator: the held dot was a stuffing dot and is dropped;
     * c is the first octet of the line's text. */
    f->state = ST_TEXT;
    return 0;
}

static int step_dot_cr(struct body_filter *f, struct feed_pos *x, uint8_t c)
{
    if (c == CH_LF) {
        x->i++;
        f->state = ST_END;
        x->ev = BODY_EV_END;
        return 1;
    }
    /* "." CR and no LF: the dot was stuffing, the CR is bare and is written
     * now; c is handled as text next. */
    if (x->o == x->outcap)
        return 1;
    f->errors |= BODY_ERR_BARE_CR;
    note_header_octet(f, CH_CR);
    x->out[x->o++] = CH_CR;
    f->state = ST_TEXT;
    return 0;
}

static int step(struct body_filter *f, struct feed_pos *x, uint8_t c)
{
    switch ((enum body_state)f->state) {
    case ST_LINE_START:
        return step_line_start(f, x, c);
    case ST_TEXT:
        return step_text(f, x, c);
    case ST_CR:
        return step_cr(f, x, c);
    case ST_DOT:
        return step_dot(f, x, c);
    case ST_DOT_CR:
        return step_dot_cr(f, x, c);
    case ST_END:
    default:
        /* ST_END is handled before the loop; anything else is a corrupted
         * state: stop taking input. */
        f->state = ST_END;
        x->ev = BODY_EV_END;
        return 1;
    }
}

/* In the body's text, the octets up to the next CR or LF (as many as fit) are what step_text
 * would do one by one: copied, counted toward the line, nothing else.  Done in one go, as
 * most of a message is that (found with memchr: a line's CR, then a bare LF before it). */
static void text_run(struct body_filter *f, struct feed_pos *x, const uint8_t *in, size_t len)
{
    size_t lim = len - x->i < x->outcap - x->o ? len - x->i : x->outcap - x->o;
    const uint8_t *p = in + x->i;
    const uint8_t *cr = memchr(p, CH_CR, lim), *lf;
    size_t n = cr ? (size_t)(cr - p) : lim;

    if ((lf = memchr(p, CH_LF, n)) != NULL) /* a bare LF before it */
        n = (size_t)(lf - p);
    memcpy(x->out + x->o, p, n);
    x->o += n;
    x->i += n;
    if (f->max_line && n > 0) {
        f->line_len = f->line_len + n > f->max_line ? f->max_line + 1 : f->line_len + n;
        if (f->line_len > f->max_line)
            f->errors |= BODY_ERR_LONG_LINE;
    }
}

size_t smtp_body_filter_feed(struct body_filter *f, const uint8_t *in, size_t len, uint8_t *out,
                             size_t outcap, size_t *outlen, enum body_event *ev)
{
    struct feed_pos x = {out, outcap, 0, 0, BODY_EV_NONE};

    if (f->state == ST_END) {
        *outlen = 0;
        *ev = BODY_EV_END;
        return 0;
    }
    while (x.i < len) {
        if (f->state == ST_TEXT && !f->in_headers && x.o < x.outcap) {
            text_run(f, &x, in, len);
            if (x.i == len)
                break;
        }
        if (step(f, &x, in[x.i]))
            break;
    }
    *outlen = x.o;
    *ev = x.ev;
    f->out_total += x.o;
    return x.i;
}

void smtp_body_filter_finish(struct body_filter *f)
{
    /* A CR with nothing after it is bare.  (ST_DOT_CR can only be left
     * over when DATA input stops before its terminator.) */
    if (f->state == ST_CR || f->state == ST_DOT_CR) {
        f->errors |= BODY_ERR_BARE_CR;
        f->state = ST_TEXT;
    }
}

/* A piece of a line that would go past the limit, octet by octet. */
static size_t stuff_long(const uint8_t *in, size_t n, uint8_t *out, struct smtp_stuff *st)
{
    size_t o = 0;

    for (size_t k = 0; k < n; k++) {
        uint8_t ch = in[k];

        if (st->col >= SMTP_TEXT_LINE_MAX && ch != '\r' && ch != '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            out[o++] = ' ';
            st->col = 1;
            st->folds++;
        }
        out[o++] = ch;
        st->col = ch == '\n' ? 0 : st->col + 1;
    }
    return o;
}

size_t smtp_dot_stuff(const uint8_t *in, size_t len, uint8_t *out, struct smtp_stuff *st)
{
    size_t o = 0, i = 0;

    while (i < len) {
        /* a line's start: stuffed if it is a dot; then the rest of the line in one copy */
        const uint8_t *nl;
        size_t n;

        if (st->col == 0 && in[i] == '.')
            out[o++] = '.';
        nl = memchr(in + i, '\n', len - i);
        n = nl ? (size_t)(nl - (in + i)) + 1 : len - i;
        if (st->col + n <= SMTP_TEXT_LINE_MAX) { /* the usual line: fits whatever ends it */
            memcpy(out + o, in + i, n);
            o += n;
            st->col = nl ? 0 : st->col + n;
        } else {
            o += stuff_long(in + i, n, out + o, st);
        }
        i += n;
    }
    return o;
}
