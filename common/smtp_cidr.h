/* smtp_cidr.h - pure parser and matcher of network lists ("10.0.0.0/8 [::1]/128"), as the smtpd's mynetworks. */
#ifndef SPOOLGATE_SMTP_CIDR_H
#define SPOOLGATE_SMTP_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Networks one list may hold (smtpd's mynetworks; the config check refuses more). */
#define SMTP_CIDR_LIST_MAX 64

struct smtp_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned prefix; /* bits */
};

/* Parse a list of "a.b.c.d/n", "a.b.c.d", "[v6]/n", "v6/n", separated by
 * spaces and/or commas.  Returns the number parsed (<= max), or -1 with err
 * text naming the bad entry. */
int smtp_cidr_parse_list(const char *s, struct smtp_cidr *out, size_t max, char *why, size_t whysz);
/* Does the address (IPv4, IPv6 or IPv4-mapped IPv6) fall in one of them? */
int smtp_cidr_match(const struct smtp_cidr *list, size_t n, const struct sockaddr *sa);

#endif
