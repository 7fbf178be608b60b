/* fuzz_secrets.c - fuzzes the smarthost secrets parser router_secrets_parse (router/router_secrets.c): whatever the text, every entry is terminated, named validly, findable, and nothing is kept after a refusal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router_secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void check_entries(const struct router_secrets *s)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct router_secret *e = &s->v[i];

        if (!TERMINATED(e->name) || !TERMINATED(e->user) || !TERMINATED(e->pass))
            abort();
        if (!tm_auth_name_valid(e->name, strlen(e->name)) || !e->user[0] || !e->pass[0])
            abort();
        if (router_secrets_find(s, e->name) != e) /* names are unique: the first is this one */
            abort();
        if (strchr(e->user, ' ') || strchr(e->user, '\t') || strchr(e->pass, '\n'))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct router_secrets s;
    char err[512];
    int rc = router_secrets_parse((const char *)data, size, "fuzz", &s, err, sizeof(err));

    if (!TERMINATED(err))
        abort();
    if (rc < 0 && (s.v || s.n || !err[0]))
        abort(); /* a refusal keeps nothing and says why */
    if (rc == 0)
        check_entries(&s);
    router_secrets_free(&s);
    return 0;
}
