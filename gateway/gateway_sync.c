/* gateway_sync.c - group commit for fsync: workers that need the same file or directory on disk share one fsync. */
#include <errno.h>

#include "gateway.h"

void gw_sync_group_init(struct gw_sync_group *sg, int (*sync)(void *arg), void *arg)
{
    pthread_mutex_init(&sg->lock, NULL);
    pthread_cond_init(&sg->done, NULL);
    sg->sync = sync;
    sg->arg = arg;
    sg->noted = sg->synced = sg->failed_upto = 0;
    sg->failed_errno = 0;
    sg->running = 0;
    sg->syncs = 0;
}

void gw_sync_group_destroy(struct gw_sync_group *sg)
{
    pthread_mutex_destroy(&sg->lock);
    pthread_cond_destroy(&sg->done);
}

uint64_t gw_sync_group_note(struct gw_sync_group *sg)
{
    uint64_t t;

    pthread_mutex_lock(&sg->lock);
    t = ++sg->noted;
    pthread_mutex_unlock(&sg->lock);
    return t;
}

/*
 * The first waiter whose change is not yet on disk runs the sync for every
 * change noted so far; the others wait for it.  A change noted while a sync
 * runs is covered by the next one.  A failed sync fails every change it was
 * to cover, even if a later sync succeeds (after a failed fsync the kernel
 * may have dropped the data: success later proves nothing about it).
 */
int gw_sync_group_wait(struct gw_sync_group *sg, uint64_t ticket, int *err)
{
    int rc = 0;

    pthread_mutex_lock(&sg->lock);
    for (;;) {
        if (ticket <= sg->failed_upto) {
            *err = sg->failed_errno;
            rc = -1;
            break;
        }
        if (sg->synced >= ticket)
            break;
        if (sg->running) {
            pthread_cond_wait(&sg->done, &sg->lock);
            continue;
        }
        {
            uint64_t upto = sg->noted;
            int ok, e;

            sg->running = 1;
            pthread_mutex_unlock(&sg->lock);
            errno = 0;
            ok = sg->sync(sg->arg) == 0;
            e = errno;
            pthread_mutex_lock(&sg->lock);
            sg->running = 0;
            sg->syncs++;
            if (ok) {
                sg->synced = upto;
            } else {
                sg->failed_upto = upto;
                sg->failed_errno = e ? e : EIO;
            }
            pthread_cond_broadcast(&sg->done);
        }
    }
    pthread_mutex_unlock(&sg->lock);
    return rc;
}
