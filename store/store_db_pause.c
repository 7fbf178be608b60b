/* store_db_pause.c - the destinations an administrator paused, kept in meta.db so that a pause outlives restarts. */
#include "store_db_bdb.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* meta.db "pause:<domain>" (lower case) or "pause:*" (every destination) -> when (8 bytes). */
#define PAUSE_PREFIX "pause:"

static size_t pause_key(char *key, size_t cap, const char *domain)
{
    int n = snprintf(key, cap, PAUSE_PREFIX "%s", domain[0] ? domain : "*");

    for (char *p = key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

int store_db_pause_set(struct store_txn *t, const char *domain, int on, uint64_t when_us)
{
    DB *meta = t->db->h->meta;
    char key[IPC_ADDR_MAX + sizeof(PAUSE_PREFIX) + 1];
    DBT k = {.data = key};
    uint8_t v[8];

    k.size = (u_int32_t)pause_key(key, sizeof(key), domain);
    if (!on)
        return meta->del(meta, t->txn, &k, 0);
    store_rec_put_be64(v, when_us);
    return store_db_put_value(meta, t->txn, key, k.size, v, sizeof(v), 0);
}

int store_db_pause_list(struct store_txn *t, store_pause_fn fn, void *arg)
{
    DB *meta = t->db->h->meta;
    char kbuf[IPC_ADDR_MAX + sizeof(PAUSE_PREFIX) + 1];
    uint8_t vbuf[16];
    DBT key = {.data = kbuf, .ulen = sizeof(kbuf) - 1, .flags = DB_DBT_USERMEM};
    DBT val = {.data = vbuf, .ulen = sizeof(vbuf), .flags = DB_DBT_USERMEM};
    u_int32_t flag = DB_SET_RANGE;
    size_t plen = strlen(PAUSE_PREFIX);
    DBC *cur;
    int ret;

    if ((ret = meta->cursor(meta, t->txn, &cur, DB_READ_COMMITTED)) != 0)
        return ret;
    memcpy(kbuf, PAUSE_PREFIX, plen);
    key.size = (u_int32_t)plen;
    while ((ret = cur->get(cur, &key, &val, flag)) == 0) {
        flag = DB_NEXT;
        if (key.size < plen || memcmp(kbuf, PAUSE_PREFIX, plen) != 0)
            break;
        kbuf[key.size] = '\0';
        fn(strcmp(kbuf + plen, "*") == 0 ? "" : kbuf + plen, arg);
    }
    cur->close(cur);
    return ret == DB_NOTFOUND ? 0 : ret;
}
