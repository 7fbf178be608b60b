/* reason.h - an outcome's enhanced status code and reason text, written into a caller's fixed-size fields. */
#ifndef SPOOLGATE_REASON_H
#define SPOOLGATE_REASON_H

#include <stddef.h>

/* status (e.g. "4.4.1") into status_out[status_size] and the formatted reason into
 * text_out[text_size]; both NUL-terminated, cut to fit.  For the daemons' per-recipient
 * outcomes, whatever struct holds them (the SG_REASON_SET macro passes the sizes). */
void sg_reason_set(char *status_out, size_t status_size, const char *status, char *text_out,
                   size_t text_size, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Fill in the status and text arrays of an outcome struct: SG_REASON_SET(r->status, r->reply, "5.1.1", "...", ...). */
#define SG_REASON_SET(status_arr, text_arr, status, ...)                                    \
    sg_reason_set((status_arr), sizeof(status_arr), (status), (text_arr), sizeof(text_arr), \
                  __VA_ARGS__)

#endif
