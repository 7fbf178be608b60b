/* store_db_chksum.h - Berkeley DB's log checksum hash, computed eight lanes at a time (see store_db_chksum.c). */
#ifndef SPOOLGATE_STORE_DB_CHKSUM_H
#define SPOOLGATE_STORE_DB_CHKSUM_H

#include <stddef.h>
#include <stdint.h>

/* The hash libdb 5.3 checksums every log record with (__ham_func4: h = h * 33 + octet from
 * h = 0; 0 for no octets), eight lanes at a time. */
uint32_t store_db_chksum_hash(const void *data, size_t len);
/* Before the environment is opened: compares store_db_chksum_hash with libdb's own function on
 * inputs of every length up to 1100 octets at every alignment and on large ones. 1: equal, so
 * libdb's calls are answered by ours from now on; 0: not (or libdb's not found), with why, and
 * libdb's own function keeps answering them. */
int store_db_chksum_init(char *why, size_t whysz);
/* 1 once libdb has called __ham_func4 here (else its own answers every call). */
int store_db_chksum_called(void);

#endif
