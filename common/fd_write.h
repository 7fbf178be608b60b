/* fd_write.h - writing a whole buffer to a file descriptor, short writes and EINTR taken care of. */
#ifndef SPOOLGATE_FD_WRITE_H
#define SPOOLGATE_FD_WRITE_H

#include <stddef.h>

/* All len octets of p to fd: 0, or -1 with errno (a write that wrote nothing: EIO). */
int sg_write_all(int fd, const void *p, size_t len);

#endif
