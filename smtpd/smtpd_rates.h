/* smtpd_rates.h - per-client-address event counts over a time unit (anvil's rates), in a bounded table. */
#ifndef SPOOLGATE_SMTPD_RATES_H
#define SPOOLGATE_SMTPD_RATES_H

#include <stddef.h>
#include <stdint.h>

/* What is counted per client address. */
enum smtpd_rate_kind {
    SMTPD_RATE_CONNECT,   /* connections */
    SMTPD_RATE_MAIL,      /* MAIL commands */
    SMTPD_RATE_RCPT,      /* RCPT commands */
    SMTPD_RATE_AUTH_FAIL, /* failed AUTH exchanges */
    SMTPD_RATE_ERROR,     /* error replies */
    SMTPD_RATE_KINDS
};

/*
 * A hash table of addresses, each with one window of interval_ms that starts at its first
 * event and the counts of each kind in it (as Postfix's anvil: when the window is over, every
 * count starts again from 0).  Entries are also on a list in the order their windows started,
 * so the expired ones are dropped from its head as new ones come, and past max_entries the
 * oldest is forgotten: memory stays bounded under a flood of distinct addresses, and no
 * operation walks more than one hash chain and the expired head of the list.
 */
struct smtpd_rates;

struct smtpd_rates *smtpd_rates_new(size_t max_entries, uint64_t interval_ms);
void smtpd_rates_free(struct smtpd_rates *t);
/* One more event of kind from ip at now_ms: the count in ip's current window, this one included;
 * 0 when it cannot be counted (out of memory: the caller lets it pass). */
unsigned smtpd_rates_add(struct smtpd_rates *t, const char *ip, enum smtpd_rate_kind kind,
                         uint64_t now_ms);
/* The count of kind in ip's current window, without adding to it. */
unsigned smtpd_rates_get(struct smtpd_rates *t, const char *ip, enum smtpd_rate_kind kind,
                         uint64_t now_ms);
/* 1 when ip's going past the limit on kind is to be logged: the first time in its window. */
int smtpd_rates_log_due(struct smtpd_rates *t, const char *ip, enum smtpd_rate_kind kind,
                        uint64_t now_ms);
/* Addresses held now, and how many were forgotten before their window ended (the cap). */
size_t smtpd_rates_size(const struct smtpd_rates *t);
uint64_t smtpd_rates_evicted(const struct smtpd_rates *t);

#endif
