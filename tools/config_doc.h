/* config_doc.h - spoolgate.ini(5) and the commented example, both written from the key table. */
#ifndef SPOOLGATE_CONFIG_DOC_H
#define SPOOLGATE_CONFIG_DOC_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"

/* A size or duration in the largest unit that divides it exactly (64m, 90s, 1h); others as
 * plain numbers. */
void config_doc_human(enum cfg_type type, long long v, char *buf, size_t bufsz);
/* What a key takes, "size, 1m to 16g", into buf. */
void config_doc_kind(const struct cfg_key *k, char *buf, size_t bufsz);
/* The roff of spoolgate.ini(5). */
void config_doc_man(FILE *out);
/* The commented example ini; state_dir (not NULL) is set instead of the checkout default. */
void config_doc_example(FILE *out, const char *state_dir);

#endif
