/* pickup_file.h - the local pickup directory (like Postfix's maildrop): where it is, the format of one file, its parser for untrusted input. */
#ifndef SPOOLGATE_PICKUP_FILE_H
#define SPOOLGATE_PICKUP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "ipc.h"

/*
 * spoolgate-sendmail writes a message here when the store cannot take it; spoolgate-smtpd
 * submits it once the store is back and removes the file only after SUBMITTED.
 * <state_dir>/pickup is mode 1733 (anyone may create a file, nobody but its owner, smtpd's
 * user and root may list or remove one) and owned by smtpd's user; malformed files are moved
 * to <state_dir>/pickup/bad (0700).  A file is written as "t.<name>", fsync'd, then renamed
 * to "<name>"; files starting "t." are not read.  The format:
 *
 *   SPOOLGATE-PICKUP 1
 *   uid <n>                        the submitter's uid (informational: the owner counts)
 *   sender <addr>                  nothing after "sender " for the null sender
 *   ret <0|1|2>  flags <n>  envid <xtext>          (each on its own line)
 *   rcpt <notify> <addr>           once for each recipient, 1 at least
 *   data
 *   <the message octets, CRLF lines, to the end of the file>
 */
#define PICKUP_DIR "pickup"
#define PICKUP_BAD_DIR "bad"
#define PICKUP_TEMP_PREFIX "t."
#define PICKUP_MAGIC "SPOOLGATE-PICKUP 1"
#define PICKUP_RCPT_MAX 10000
#define PICKUP_HEAD_MAX (PICKUP_RCPT_MAX * (IPC_ADDR_MAX + 16) + 4096)

struct pickup_msg {
    long long uid; /* as the file says */
    struct ipc_submit_begin begin;
    struct ipc_submit_rcpt *rcpts; /* malloc'd */
    size_t nrcpt;
    const char *body; /* into the parsed buffer */
    size_t body_len;
};

/* <state_dir>/pickup into buf: 0, or -1 when it does not fit. */
int pickup_dir_path(const struct sg_config *c, char *buf, size_t bufsz);
/* The file's head (everything up to and including "data\n") appended to b: 0 or -1. */
int pickup_format_head(struct sg_buf *b, const struct pickup_msg *m);
/* Parse and check a whole file (any octets: it is untrusted): 0 with *m (free it with
 * pickup_msg_free), or -1 with why. */
int pickup_parse(const char *buf, size_t len, struct pickup_msg *m, char *why, size_t whysz);
void pickup_msg_free(struct pickup_msg *m);

#endif
