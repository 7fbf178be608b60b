/* fuzz_alias_map.c - fuzzes the alias and canonical map parser and expander (router/alias_map.c): whatever the text, a refusal keeps nothing and says why, every key is found again, and every expansion is terminated, without duplicates and within its limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alias_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)
#define FUZZ_LIMIT 50

static const char *key_of(const struct alias_map *m, const struct am_entry *e)
{
    return (const char *)m->pool.data + e->key;
}

/* An expansion of key: its result is one of the four, its addresses terminated and distinct. */
static void check_expansion(const struct alias_map *m, const char *key)
{
    struct am_expansion x;
    char why[1024];
    enum am_result rc = router_am_expand(m, key, FUZZ_LIMIT, &x, why, sizeof(why));

    if (!TERMINATED(why))
        abort();
    if (rc == AM_NOT_ALIAS || (rc != AM_EXPANDED && (x.addr || x.n || !why[0])))
        abort(); /* a key is an alias; a failure keeps nothing and says why */
    if (rc == AM_EXPANDED && (x.n == 0 || x.n > FUZZ_LIMIT))
        abort();
    for (size_t i = 0; i < x.n; i++) {
        if (!TERMINATED(x.addr[i]) || !x.addr[i][0])
            abort();
        for (size_t k = 0; k < i; k++)
            if (strcasecmp(x.addr[i], x.addr[k]) == 0)
                abort();
    }
    router_am_expansion_free(&x);
}

static void check_map(const struct alias_map *m, int single)
{
    char out[IPC_ADDR_MAX + 1];

    for (size_t i = 0; i < m->n; i++) {
        const struct am_entry *e = &m->v[i];
        const char *key = key_of(m, e);

        if (e->nval == 0 || (single && e->nval != 1) || e->line == 0)
            abort();
        if (key[0] == '@')
            continue; /* a domain's entry is looked up through an address of it */
        if (router_am_lookup(m, key) != e)
            abort(); /* keys are unique and found again */
        if (router_am_value(m, e, 0, key, out, sizeof(out)) == 0 &&
            router_am_rewrite(m, key, out, sizeof(out)) != 1)
            abort(); /* a value that fits is the rewrite */
        if (!TERMINATED(out))
            abort();
        check_expansion(m, key);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int single = 0; single <= 1; single++) {
        struct alias_map m;
        char err[1024];
        int rc = router_am_parse((const char *)data, size, "fuzz", single, &m, err, sizeof(err));

        if (!TERMINATED(err))
            abort();
        if (rc < 0 && (m.v || m.n || !err[0]))
            abort(); /* a refusal keeps nothing and says why */
        if (rc == 0)
            check_map(&m, single);
        router_am_free(&m);
    }
    return 0;
}
