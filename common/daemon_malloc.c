/* daemon_malloc.c - glibc malloc kept from giving message-sized buffers back to the kernel after every message. */
#include "daemon_malloc.h"

#include <malloc.h>

int daemon_malloc_reuse(void)
{
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    if (mallopt(M_MMAP_THRESHOLD, (int)DAEMON_MALLOC_MMAP_THRESHOLD) != 1)
        return -1;
    if (mallopt(M_TRIM_THRESHOLD, (int)DAEMON_MALLOC_TRIM_THRESHOLD) != 1)
        return -1;
    return 0;
#else
    return -1;
#endif
}
