/* array.c - the one grow-by-doubling helper for arrays (see array.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

int sg_array_reserve(void *v, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap ? *cap : 8;
    void *old, *p;

    if (need <= *cap)
        return 0;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    if (size == 0 || ncap > SIZE_MAX / size)
        return -1;
    memcpy(&old, v, sizeof(old)); /* the caller's T *, read without assuming it is a void * */
    if (!(p = realloc(old, ncap * size)))
        return -1;
    memcpy(v, &p, sizeof(p));
    *cap = ncap;
    return 0;
}
