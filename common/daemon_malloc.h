/* daemon_malloc.h - glibc malloc kept from giving message-sized buffers back to the kernel after every message. */
#ifndef SPOOLGATE_DAEMON_MALLOC_H
#define SPOOLGATE_DAEMON_MALLOC_H

#include <stddef.h>

/* Blocks up to this size come from the heap (not a mapping of their own) ... */
#define DAEMON_MALLOC_MMAP_THRESHOLD (2u * 1024 * 1024)
/* ... and up to this much free memory stays at the top of a heap for the next message. */
#define DAEMON_MALLOC_TRIM_THRESHOLD (32u * 1024 * 1024)

/* Called first in main() by the daemons on the relay path (store, smtpd, router): a body
 * passes through buffers of a few hundred KiB per message, which with glibc's defaults are
 * mapped, or trimmed off the heap's top, when freed, so the next message faults them in
 * again page by page.  Both thresholds fixed (glibc's sliding threshold off).  0, or -1
 * when this libc has no mallopt or refused a value. */
int daemon_malloc_reuse(void);

#endif
