/* router_kept.c - final outcomes the store has not recorded, saved in <state_dir>/router/outcomes at a stop and recorded first when the store is there at the next start. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_write.h"
#include "log.h"
#include "privilege.h"
#include "router.h"

/*
 * The file: the line KEPT_MAGIC, then the kept UPDATE_RCPT frames as they would go to the
 * store.  It is written whole (temporary file, fsync, rename, directory fsync) at a stop with
 * outcomes kept, read at the next start, and removed once the store has recorded them.  An
 * outcome lost here is not lost mail: its lease brings the recipient back and it is
 * delivered again (at least once); what the file saves is that second delivery.
 */
#define KEPT_MAGIC "spoolgate-router kept outcomes 1\n"
/* what the router keeps fits one UPDATE_BATCH (router_update.c); so must what it reads */
#define KEPT_FILE_MAX (IPC_UPDATE_BATCH_MAX - 2u * 1024u + sizeof(KEPT_MAGIC))

static char kept_dir[PATH_MAX], kept_path[PATH_MAX + 16];

void router_kept_take_dir(struct router *r)
{
    const struct priv_user *u = &r->opts.ids.user[PRIV_ROLE_ROUTER];
    char why[1024];

    snprintf(kept_dir, sizeof(kept_dir), "%s/router", r->cfg->global.state_dir);
    if ((r->opts.drop ? priv_own_dir(kept_dir, u->uid, u->gid, 0700, why, sizeof(why))
                      : priv_mkdirs(kept_dir, 0700, why, sizeof(why))) < 0)
        log_fatal("router state directory %s", why);
    snprintf(kept_path, sizeof(kept_path), "%s/outcomes", kept_dir);
}

/* Every frame an UPDATE_RCPT with a final outcome; how many, or -1 with why. */
static long kept_check(const uint8_t *p, size_t len, const char **why)
{
    size_t off = 0;
    long n = 0;
    struct ipc_reader rd;
    struct ipc_rcpt_update u;
    int rc;

    while ((rc = ipc_frame_next(p, len, &off, &rd, why)) == 1) {
        if (ipc_decode_rcpt_update(&rd, &u) < 0) {
            *why = rd.error ? rd.error : "not a recipient update";
            return -1;
        }
        if (!rcpt_state_final(u.state) && u.state != RCPT_HELD) {
            *why = "an outcome that is not final";
            return -1;
        }
        n++;
    }
    if (rc == 0 && off != len)
        *why = "the file ends inside a frame";
    return rc == 0 && off == len ? n : -1;
}

/* The file's contents into buf; 0, 1 when there is none, -1 with why (errno text). */
static int kept_read(struct sg_buf *buf, const char **why)
{
    int fd = open(kept_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    ssize_t got = 0;

    if (fd < 0) {
        *why = strerror(errno);
        return errno == ENOENT ? 1 : -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)KEPT_FILE_MAX ||
        sg_buf_reserve(buf, (size_t)st.st_size) < 0) {
        *why = "not a regular file of the size one store batch takes";
        close(fd);
        return -1;
    }
    while (buf->len < (size_t)st.st_size &&
           (got = read(fd, buf->data + buf->len, (size_t)st.st_size - buf->len)) > 0)
        buf->len += (size_t)got;
    if (got < 0)
        *why = strerror(errno);
    close(fd);
    return got < 0 ? -1 : 0;
}

/* A file that cannot be used is moved aside, named in the log: nothing is taken from it. */
static void kept_set_aside(const char *why)
{
    char bad[PATH_MAX + 24];

    snprintf(bad, sizeof(bad), "%s.bad", kept_path);
    if (rename(kept_path, bad) < 0)
        log_error("kept outcomes %s: %s; cannot move it aside: %s", kept_path, why,
                  strerror(errno));
    else
        log_error("kept outcomes %s: %s; moved to %s, nothing taken from it (their leases bring "
                  "those recipients back)",
                  kept_path, why, bad);
}

void router_kept_load(struct router *r)
{
    struct sg_buf buf = {0};
    const char *why = NULL;
    size_t magic = strlen(KEPT_MAGIC);
    long n;
    int rc = kept_read(&buf, &why);

    if (rc == 1) {
        sg_buf_free(&buf);
        return;
    }
    if (rc < 0)
        kept_set_aside(why);
    else if (buf.len < magic || memcmp(buf.data, KEPT_MAGIC, magic) != 0)
        kept_set_aside("not a file of kept outcomes (its first line is wrong)");
    else if ((n = kept_check(buf.data + magic, buf.len - magic, &why)) < 0)
        kept_set_aside(why);
    else if (sg_buf_append(&r->kept, buf.data + magic, buf.len - magic) < 0)
        log_error("kept outcomes %s: out of memory; left for the next start", kept_path);
    else {
        r->kept_count += (uint32_t)n;
        log_notice("%ld recipient outcome(s) the store had not recorded at the last stop, from "
                   "%s: recorded first, once the store is there",
                   n, kept_path);
    }
    sg_buf_free(&buf);
}

static int kept_write(const struct sg_buf *frames)
{
    char tmp[PATH_MAX + 24];
    int fd, rc;

    snprintf(tmp, sizeof(tmp), "%s.tmp", kept_path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
        return -1;
    rc = sg_write_all(fd, KEPT_MAGIC, strlen(KEPT_MAGIC)) < 0 ||
                 sg_write_all(fd, frames->data, frames->len) < 0 || fsync(fd) < 0
             ? -1
             : 0;
    if (close(fd) < 0 || rc < 0 || rename(tmp, kept_path) < 0) {
        int e = errno;

        unlink(tmp);
        errno = e;
        return -1;
    }
    return sg_fsync_dir(kept_dir);
}

void router_kept_save(struct router *r)
{
    if (kept_path[0] && r->kept_count > 0) {
        if (kept_write(&r->kept) < 0)
            log_warn("%u recipient outcome(s) never reached the store and cannot be saved in %s "
                     "(%s): their leases bring them back",
                     r->kept_count, kept_path, strerror(errno));
        else
            log_notice("%u recipient outcome(s) never reached the store: saved in %s, recorded "
                       "first at the next start",
                       r->kept_count, kept_path);
    }
    sg_buf_free(&r->kept);
    r->kept_count = 0;
}

void router_kept_done(void)
{
    if (kept_path[0] && unlink(kept_path) < 0 && errno != ENOENT)
        log_warn("kept outcomes %s are answered by the store, but the file stays: %s", kept_path,
                 strerror(errno));
}
