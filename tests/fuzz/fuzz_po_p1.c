/* fuzz_po_p1.c - fuzzes the P1 transfer file parser po_p1_parse (gateway/po_p1.c); what parses is formatted with po_p1_format and must parse back to the same values; the same input as a message's header section through po_map.c must give values the format takes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "po_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_addr(const struct po_p1_addr *a)
{
    if (!TERMINATED(a->text) || a->text[0] == '\0')
        abort();
    if (a->kind != PO_P1_SMTP && a->kind != PO_P1_MS)
        abort();
    if (a->kind == PO_P1_MS && (!po_name_valid(a->ms.network, strlen(a->ms.network)) ||
                                !po_name_valid(a->ms.postoffice, strlen(a->ms.postoffice)) ||
                                !po_name_valid(a->ms.mailbox, strlen(a->ms.mailbox))))
        abort();
}

static void check_p1(const struct po_p1 *p, size_t len)
{
    if (!TERMINATED(p->message_id) || !TERMINATED(p->date) || !TERMINATED(p->subject))
        abort();
    if (p->nto < 1 || p->nto > PO_P1_RCPT_MAX || p->to == NULL)
        abort();
    if (p->body_len < 1 || p->body_off > len || p->body_len > len - p->body_off)
        abort();
    check_addr(&p->from);
    for (size_t i = 0; i < p->nto; i++)
        check_addr(&p->to[i]);
}

static int same_addr(const struct po_p1_addr *a, const struct po_p1_addr *b)
{
    return a->kind == b->kind && strcmp(a->text, b->text) == 0;
}

/* po_p1_format_head writes what po_p1_format writes before the message. */
static void check_head(const struct po_p1 *p, const struct sg_buf *whole)
{
    struct sg_buf head = {0};
    struct po_err e;

    if (po_p1_format_head(p, p->body_len, &head, &e) != 0)
        abort();
    if (head.len + p->body_len != whole->len || memcmp(head.data, whole->data, head.len) != 0)
        abort();
    sg_buf_free(&head);
}

/* The input as a message: what po_map makes of its fields is what a control line takes, and an
 * address in it (its first line) written in the RFC 6533 form reads back as itself. */
static void check_map(const uint8_t *data, size_t size)
{
    char raw[1024], out[PO_SUBJECT_MAX + 1], back[1024];
    const char *why;
    long n;
    size_t k;
    int w;

    if ((n = po_map_header(data, size, "Message-ID", raw, sizeof(raw))) >= 0 &&
        po_map_msgid(raw, (size_t)n, out) == 0 && po_p1_msgid_check(out, strlen(out), &why) != 0)
        abort();
    if ((n = po_map_header(data, size, "Date", raw, sizeof(raw))) >= 0 &&
        po_map_date(raw, (size_t)n, out) == 0 && po_p1_date_check(out, strlen(out), &why) != 0)
        abort();
    if ((n = po_map_header(data, size, "Subject", raw, sizeof(raw))) >= 0) {
        k = po_map_subject(raw, (size_t)n, out, sizeof(out));
        if (k > PO_SUBJECT_MAX || strlen(out) != k)
            abort();
        for (size_t i = 0; i < k; i++)
            if ((out[i] < 0x20 && out[i] != '\t') || (unsigned char)out[i] >= 0x7f)
                abort();
    }
    k = size < sizeof(raw) - 1 ? size : sizeof(raw) - 1;
    memcpy(raw, data, k);
    raw[k] = '\0';
    if ((w = po_utf8_addr_encode(raw, out, sizeof(out))) > 0 &&
        (po_utf8_addr_decode(out, (size_t)w, back, sizeof(back)) != (long)strlen(raw) ||
         strcmp(back, raw) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct po_p1 p, q;
    struct po_err e;
    struct sg_buf out;

    e.text[0] = '\0';
    check_map(data, size);
    if (po_p1_parse(data, size, &p, &e) != 0) {
        if (p.to != NULL || p.nto != 0 || e.text[0] == '\0' || !TERMINATED(e.text))
            abort(); /* nothing allocated, and a reason */
        po_p1_free(&p);
        return 0;
    }
    check_p1(&p, size);
    sg_buf_init(&out);
    if (po_p1_format(&p, data + p.body_off, p.body_len, &out, &e) != 0)
        abort(); /* what parsed must format */
    if (po_p1_parse(out.data, out.len, &q, &e) != 0)
        abort(); /* and parse back */
    check_head(&p, &out);
    check_p1(&q, out.len);
    if (strcmp(p.message_id, q.message_id) != 0 || strcmp(p.date, q.date) != 0 ||
        strcmp(p.subject, q.subject) != 0 || !same_addr(&p.from, &q.from) || p.nto != q.nto ||
        p.body_len != q.body_len ||
        memcmp(data + p.body_off, out.data + q.body_off, p.body_len) != 0)
        abort();
    for (size_t i = 0; i < p.nto; i++)
        if (!same_addr(&p.to[i], &q.to[i]))
            abort();
    po_p1_free(&q);
    po_p1_free(&p);
    po_p1_free(&p); /* idempotent */
    sg_buf_free(&out);
    return 0;
}
