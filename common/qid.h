/* qid.h - queue ids: 64-bit, unique, sortable by arrival, 13 characters of text. */
#ifndef SPOOLGATE_QID_H
#define SPOOLGATE_QID_H

#include <stddef.h>
#include <stdint.h>

/*
 * A queue id is a 64-bit number: microseconds since the Unix epoch when
 * the message arrived, forced strictly increasing by the one allocator (the
 * store).  Its text form is 13 characters of base32hex ("0-9A-V"), which
 * sorts in the same order as the number.
 */
#define QID_TEXT_LEN 13

struct qid_alloc {
    uint64_t last;
};

/* Start after `floor` (the largest id already in use, or 0). */
void qid_alloc_init(struct qid_alloc *a, uint64_t floor);
/* max(now_us, last + 1). */
uint64_t qid_next(struct qid_alloc *a, uint64_t now_us);

/* buf must hold QID_TEXT_LEN + 1 bytes. */
void qid_format(uint64_t id, char *buf);
/* 0 on success; -1 if s is not exactly 13 valid characters. */
int qid_parse(const char *s, uint64_t *id);

/* Wall clock in microseconds. */
uint64_t now_us(void);

#endif
