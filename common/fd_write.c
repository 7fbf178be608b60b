/* fd_write.c - writing a whole buffer to a file descriptor, short writes and EINTR taken care of. */
#include "fd_write.h"

#include <errno.h>
#include <unistd.h>

int sg_write_all(int fd, const void *p, size_t len)
{
    const char *q = p;

    while (len > 0) {
        ssize_t n = write(fd, q, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        q += n;
        len -= (size_t)n;
    }
    return 0;
}
