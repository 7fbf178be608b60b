/* router_idna.h - domains in the DNS's ASCII form: U-labels to A-labels (IDNA2008 with UTS #46, libidn2). */
#ifndef SPOOLGATE_ROUTER_IDNA_H
#define SPOOLGATE_ROUTER_IDNA_H

#include <stddef.h>

/* domain as A-labels into out (an ASCII domain unchanged, also an address literal): 0, or -1 with
 * why (the IDNA rule it breaks, or too long). */
int router_idna_domain(const char *domain, char *out, size_t outsz, char *why, size_t whysz);

/* addr (local@domain, or a name without @, or "") with its domain as A-labels into out: 0; 1 when
 * its local part is UTF-8 (nothing can make it ASCII: it needs SMTPUTF8); -1 with why. */
#define ROUTER_IDNA_UTF8_LOCAL 1
int router_idna_addr(const char *addr, char *out, size_t outsz, char *why, size_t whysz);

#endif
