/* router_idna.c - domains in the DNS's ASCII form: U-labels to A-labels (IDNA2008 with UTS #46, libidn2), for lookups and for servers without SMTPUTF8. */
#include <idn2.h>
#include <stdio.h>
#include <string.h>

#include "router_idna.h"
#include "smtp_char.h"

int router_idna_domain(const char *domain, char *out, size_t outsz, char *why, size_t whysz)
{
    char *ascii = NULL;
    const char *text = domain;
    int rc;

    if (smtp_has_8bit(domain, strlen(domain))) {
        /* UTS #46 non-transitional processing, as browsers and registries do now (ß stays ß). */
        rc = idn2_to_ascii_8z(domain, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK) {
            snprintf(why, whysz, "%s", idn2_strerror(rc));
            return -1;
        }
        text = ascii;
    }
    rc = snprintf(out, outsz, "%s", text) >= (int)outsz ? -1 : 0;
    if (rc < 0)
        snprintf(why, whysz, "longer than %zu octets as A-labels", outsz - 1);
    idn2_free(ascii);
    return rc;
}

int router_idna_addr(const char *addr, char *out, size_t outsz, char *why, size_t whysz)
{
    const char *at = strrchr(addr, '@'); /* a quoted local part may hold '@'; the domain cannot */
    size_t local = at ? (size_t)(at - addr) : strlen(addr);
    char domain[256];

    if (smtp_has_8bit(addr, local))
        return ROUTER_IDNA_UTF8_LOCAL;
    if (!at) {
        snprintf(out, outsz, "%s", addr);
        return 0;
    }
    if (router_idna_domain(at + 1, domain, sizeof(domain), why, whysz) < 0)
        return -1;
    if (snprintf(out, outsz, "%.*s@%s", (int)local, addr, domain) >= (int)outsz) {
        snprintf(why, whysz, "longer than %zu octets with its domain as A-labels", outsz - 1);
        return -1;
    }
    return 0;
}
