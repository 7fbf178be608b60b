/* fd_write.c - making writes whole and durable: a whole buffer to a file descriptor (short writes and EINTR taken care of), a directory's entries synced. */
#include "fd_write.h"

#include <errno.h>
#include <fcntl.h>
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

int sg_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, e;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    e = errno;
    close(fd);
    errno = e;
    return rc;
}
