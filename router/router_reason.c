/* router_reason.c - what the router leaves in a recipient's reply while it is not final, and the null sender. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "router.h"

int router_sender_null(const char *sender)
{
    /* "<>" as a stored sender is the null sender written with its brackets. */
    return sender[0] == '\0' || strcmp(sender, "<>") == 0;
}

const char *router_iso_utc(uint64_t us, char *buf, size_t bufsz)
{
    time_t t = (time_t)(us / 1000000u);
    struct tm tm;

    if (!gmtime_r(&t, &tm) || strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, bufsz, "?");
    return buf;
}

#define CLAIM_TEXT "attempt under way, or taken up again at "
#define CLAIM_LAST "; last: "

void router_claim_reply(const char *last, uint64_t lease_end_us, char *out, size_t outsz)
{
    char until[32];
    const char *l;

    /* An earlier claim that never reported back: only what came before it. */
    if (strncmp(last, CLAIM_TEXT, strlen(CLAIM_TEXT)) == 0)
        last = (l = strstr(last, CLAIM_LAST)) != NULL ? l + strlen(CLAIM_LAST) : "";
    snprintf(out, outsz, "%s%s%s%.*s", CLAIM_TEXT,
             router_iso_utc(lease_end_us, until, sizeof(until)), last[0] ? CLAIM_LAST : "",
             (int)(outsz > 128 ? outsz - 128 : 0), last);
}
