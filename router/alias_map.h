/* alias_map.h - address maps of the router: the alias map (a recipient to one or more addresses) and the sender canonical map (one address to another), parsed, looked up and expanded by pure functions. */
#ifndef SPOOLGATE_ALIAS_MAP_H
#define SPOOLGATE_ALIAS_MAP_H

#include <stddef.h>

#include "buf.h"
#include "ipc.h"

#define AM_DEPTH_MAX 20 /* aliases of aliases, at most this deep */

/*
 * File format, one entry a line, '#' comments (a '#' after a blank ends the line), blank lines
 * skipped:
 *
 *   KEY   VALUE[, VALUE ...]
 *
 * KEY is a mailbox (local@domain) or "@domain" (every address of the domain without an entry of
 * its own).  A VALUE is a mailbox, or "@domain": the same local part at that domain.  Values are
 * separated by commas, blanks or both.  Keys are compared without regard to ASCII case and each
 * may be given once.  A map of one value an entry (single: the sender canonical map) refuses
 * more, and its values are ASCII (a sender that any server can take).  Quoted local parts are
 * not taken.
 */
struct am_entry {
    size_t key;    /* offset of the lower-cased key in the pool */
    size_t vals;   /* offset of the first value; the values follow each other, each NUL-ended */
    unsigned nval; /* how many */
    size_t line;   /* where it was in the file */
};

struct alias_map {
    struct am_entry *v; /* sorted by key */
    size_t n;
    struct sg_buf pool;
};

/* Parse text into map: 0, or -1 with every bad line as "name:line: reason" in err.  Pure. */
int router_am_parse(const char *text, size_t len, const char *name, int single,
                    struct alias_map *map, char *err, size_t errsz);
/* Read and parse path ("" : an empty map).  0, or -1 with why. */
int router_am_load_file(const char *path, int single, struct alias_map *map, char *err,
                        size_t errsz);
void router_am_free(struct alias_map *map);

/* The entry for addr: its own, else its domain's "@domain" one; NULL when none. */
const struct am_entry *router_am_lookup(const struct alias_map *map, const char *addr);
/* Value i of e applied to addr ("@domain" takes addr's local part) into out: 0, or -1 when the
 * result would be longer than outsz allows. */
int router_am_value(const struct alias_map *map, const struct am_entry *e, unsigned i,
                    const char *addr, char *out, size_t outsz);

/* The final addresses of an expansion, without duplicates. */
struct am_expansion {
    char (*addr)[IPC_ADDR_MAX + 1];
    size_t n, cap;
};
enum am_result {
    AM_NOT_ALIAS = 0, /* addr has no entry: it stays as it is */
    AM_EXPANDED = 1,
    AM_LOOP = -1,  /* an alias leads back to itself through others, or nests too deep */
    AM_LIMIT = -2, /* more than limit addresses */
    AM_NOMEM = -3,
};
/* Expand addr through map, aliases of aliases included: an address whose entry names the address
 * itself ("anna@x  anna@x, bob@y") is kept as a final one there; one reached again through others
 * is a loop.  why says what went wrong, naming the chain.  Pure. */
enum am_result router_am_expand(const struct alias_map *map, const char *addr, size_t limit,
                                struct am_expansion *out, char *why, size_t whysz);
void router_am_expansion_free(struct am_expansion *x);

/* The sender canonical map: addr rewritten by its entry's value into out (1), or not in the
 * map (0, out a copy of addr). */
int router_am_rewrite(const struct alias_map *map, const char *addr, char *out, size_t outsz);

#endif
