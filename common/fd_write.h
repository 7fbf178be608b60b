/* fd_write.h - making writes whole and durable: a whole buffer to a file descriptor (short writes and EINTR taken care of), a directory's entries synced. */
#ifndef SPOOLGATE_FD_WRITE_H
#define SPOOLGATE_FD_WRITE_H

#include <stddef.h>

/* All len octets of p to fd: 0, or -1 with errno (a write that wrote nothing: EIO). */
int sg_write_all(int fd, const void *p, size_t len);
/* fsync the directory dir (a rename or a new file in it made durable): 0, or -1 with errno (a
 * directory that cannot be opened, such as a write-only one, included). */
int sg_fsync_dir(const char *dir);

#endif
