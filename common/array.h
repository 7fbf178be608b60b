/* array.h - the one grow-by-doubling helper for arrays of structs or pointers (bytes go in a struct sg_buf, buf.h). */
#ifndef SPOOLGATE_ARRAY_H
#define SPOOLGATE_ARRAY_H

#include <stddef.h>

/* Room for at least need elements of size bytes in the array *v, which
 * has room for *cap: v is the address of the array's pointer (a T ** given
 * as void *).  The capacity doubles (from 8).  0 with *v and *cap updated,
 * or -1 when out of memory or the size would overflow (the array is left
 * as it was). */
int sg_array_reserve(void *v, size_t *cap, size_t need, size_t size);

#endif
