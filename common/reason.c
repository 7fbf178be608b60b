/* reason.c - an outcome's status code and reason text into fixed-size fields (see reason.h). */
#include "reason.h"

#include <stdarg.h>
#include <stdio.h>

void sg_reason_set(char *status_out, size_t status_size, const char *status, char *text_out,
                   size_t text_size, const char *fmt, ...)
{
    va_list ap;

    snprintf(status_out, status_size, "%s", status);
    va_start(ap, fmt);
    vsnprintf(text_out, text_size, fmt, ap);
    va_end(ap);
}
