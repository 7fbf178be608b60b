/* store_records.h - the store's on-disk record formats: keys and values, pure encode/decode. */
#ifndef SPOOLGATE_STORE_RECORDS_H
#define SPOOLGATE_STORE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

/*
 * Keys (big-endian, so B-tree order is qid order):
 *   msg    qid(8)                      -> envelope record
 *   rcpt   qid(8) index(4)             -> recipient record
 *   body   qid(8) chunk(4)             -> raw body bytes
 *   due    next_attempt_us(8)          -> (secondary of rcpt)
 *   origin origin text                 -> qid(8) first_seen_us(8)
 *   meta   name text                   -> value
 *
 * Values start with a format version byte; a record of an unknown version
 * or with a field that does not fit is rejected, never guessed at.
 */

#define REC_VERSION 1
#define REC_MSG_KEY_LEN 8
#define REC_SUB_KEY_LEN 12
#define REC_SUB_KEY_N_OFF 8 /* rcpt/body key: the index or chunk number after the qid */
#define REC_DUE_KEY_LEN 8   /* due key: next_attempt_us */

/* Where the fixed fields of a recipient record lie (store_rec_rcpt_encode writes them in this order);
 * the due index and STATS read them without decoding the whole record. */
#define REC_RCPT_STATE_OFF 1         /* after the version byte: state(4) */
#define REC_RCPT_NEXT_ATTEMPT_OFF 13 /* after state(4) notify(4) attempts(4): next_attempt_us(8) */
#define REC_RCPT_FIXED_LEN 21        /* up to and with next_attempt_us */

/* The value of an origin record: the first copy's qid(8), then when it was first seen (8). */
#define REC_ORIGIN_QID_OFF 0
#define REC_ORIGIN_SEEN_OFF 8
#define REC_ORIGIN_LEN 16

struct rec_envelope {
    uint64_t qid;
    uint64_t generation;
    uint64_t arrival_us;
    uint64_t size;
    uint32_t flags;
    uint32_t ret;
    uint32_t nrcpt;
    uint32_t nchunks;
    uint32_t body_bucket; /* body database of the chunks (store_db_body.c); 0: body.db */
    char sender[IPC_ADDR_MAX + 1];
    char envid[IPC_ENVID_MAX + 1];
    char origin[IPC_ORIGIN_MAX + 1];
};

struct rec_rcpt {
    uint32_t state;
    uint32_t notify;
    uint32_t attempts;
    uint64_t next_attempt_us;
    uint64_t last_attempt_us;
    char addr[IPC_ADDR_MAX + 1];
    char orcpt[IPC_ADDR_MAX + 1];
    char route[IPC_ROUTE_MAX + 1];
    char last_reply[IPC_REPLY_MAX + 1];
};

/* One entry of the due index as a scan yields it: a recipient (its qid and
 * index, from the rcpt key) with its state and next attempt time. */
struct rec_due {
    uint64_t qid;
    uint32_t index;
    uint32_t state;
    uint64_t next_attempt_us;
};

/* Largest encoded sizes, for buffers. */
#define REC_ENVELOPE_MAX (1 + 8 * 4 + 4 * 5 + 3 * 2 + IPC_ADDR_MAX + IPC_ENVID_MAX + IPC_ORIGIN_MAX)
#define REC_RCPT_MAX (1 + 4 * 3 + 8 * 2 + 4 * 2 + 2 * IPC_ADDR_MAX + IPC_ROUTE_MAX + IPC_REPLY_MAX)

void store_rec_put_be64(uint8_t *p, uint64_t v);
void store_rec_put_be32(uint8_t *p, uint32_t v);
uint64_t store_rec_get_be64(const uint8_t *p);
uint32_t store_rec_get_be32(const uint8_t *p);

void store_rec_msg_key(uint8_t key[REC_MSG_KEY_LEN], uint64_t qid);
void store_rec_sub_key(uint8_t key[REC_SUB_KEY_LEN], uint64_t qid, uint32_t n);

/* Encode into buf (size >= *_MAX); returns the length. */
size_t store_rec_envelope_encode(const struct rec_envelope *e, uint8_t *buf);
size_t store_rec_rcpt_encode(const struct rec_rcpt *r, uint8_t *buf);
/* Decode; 0 or -1 (with a reason) when the bytes are not a valid record. */
int store_rec_envelope_decode(const uint8_t *p, size_t len, struct rec_envelope *e,
                              const char **why);
int store_rec_rcpt_decode(const uint8_t *p, size_t len, struct rec_rcpt *r, const char **why);

/* Does this recipient state belong in the due index? */
int store_rec_rcpt_is_due_state(uint32_t state);
/* Does this recipient belong in the due index: a due state, or HELD with a
 * time (a hold that ends: an undeliverable DSN's expiry; an administrator's
 * hold has none). */
int store_rec_rcpt_is_due(uint32_t state, uint64_t next_attempt_us);

#endif
