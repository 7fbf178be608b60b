/* privilege.c - least privilege: look the daemons' users up, drop root irrevocably, map peer uids to roles. */
#include "privilege.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const role_names[PRIV_ROLE_COUNT] = {
    "none", "trusted", "store", "smtpd", "router", "gateway",
};

const char *priv_role_name(enum priv_role role)
{
    return (unsigned)role < PRIV_ROLE_COUNT ? role_names[role] : "none";
}

static void user_load(struct priv_user *u, const char *name)
{
    struct passwd *pw;

    memset(u, 0, sizeof(*u));
    snprintf(u->name, sizeof(u->name), "%s", name);
    if (!name[0] || !(pw = getpwnam(name)))
        return;
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    u->known = 1;
}

void priv_ids_load(const struct sg_config *c, struct priv_ids *ids)
{
    struct group *gr;

    memset(ids, 0, sizeof(*ids));
    user_load(&ids->user[PRIV_ROLE_STORE], c->global.store_user);
    user_load(&ids->user[PRIV_ROLE_SMTPD], c->global.smtpd_user);
    user_load(&ids->user[PRIV_ROLE_ROUTER], c->global.router_user);
    user_load(&ids->user[PRIV_ROLE_GATEWAY], c->global.gateway_user);
    snprintf(ids->ipc_group, sizeof(ids->ipc_group), "%s", c->global.ipc_group);
    if (ids->ipc_group[0] && (gr = getgrnam(ids->ipc_group))) {
        ids->ipc_gid = gr->gr_gid;
        ids->ipc_known = 1;
    }
}

enum priv_role priv_role_of(const struct priv_ids *ids, uid_t uid)
{
    if (uid == 0 || uid == geteuid())
        return PRIV_ROLE_TRUSTED;
    for (int r = PRIV_ROLE_STORE; r < PRIV_ROLE_COUNT; r++)
        if (ids->user[r].known && ids->user[r].uid == uid)
            return (enum priv_role)r;
    return PRIV_ROLE_NONE;
}

void priv_check_drop(const struct priv_ids *ids, enum priv_role role, char *why, size_t whysz)
{
    const struct priv_user *u = &ids->user[role];

    why[0] = '\0';
    if (!u->known)
        snprintf(why, whysz, "user '%s' (global.%s_user) does not exist", u->name,
                 priv_role_name(role));
    else if (u->uid == 0)
        snprintf(why, whysz, "user '%s' (global.%s_user) is root", u->name, priv_role_name(role));
    else if (!ids->ipc_known)
        snprintf(why, whysz, "group '%s' (global.ipc_group) does not exist", ids->ipc_group);
}

/* After the drop: every id is the user's, the groups are exactly ours, and root stays lost. */
static int drop_verify(uid_t uid, gid_t gid, gid_t ipc_gid, char *why, size_t whysz)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg, groups[8];
    int n;

    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid || eu != uid ||
        su != uid || rg != gid || eg != gid || sg != gid) {
        snprintf(why, whysz, "ids are not the user's after the drop");
        return -1;
    }
    n = getgroups(8, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] != gid && groups[i] != ipc_gid) {
            snprintf(why, whysz, "supplementary group %u left after the drop", (unsigned)groups[i]);
            return -1;
        }
    if (n < 0 || setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
        snprintf(why, whysz, "root could be regained after the drop");
        return -1;
    }
    return 0;
}

int priv_drop(const struct priv_ids *ids, enum priv_role role, char *why, size_t whysz)
{
    const struct priv_user *u = &ids->user[role];
    gid_t groups[2];

    priv_check_drop(ids, role, why, whysz);
    if (why[0])
        return -1;
    groups[0] = u->gid;
    groups[1] = ids->ipc_gid;
    if (setgroups(2, groups) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
        setresuid(u->uid, u->uid, u->uid) < 0) {
        snprintf(why, whysz, "cannot become user '%s': %s", u->name, strerror(errno));
        return -1;
    }
    if (drop_verify(u->uid, u->gid, ids->ipc_gid, why, whysz) < 0)
        return -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(why, whysz, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        return -1;
    }
#if defined(__SANITIZE_ADDRESS__) || defined(SG_SANITIZERS)
    /* LeakSanitizer stops the process's threads by ptrace at exit, which a process
     * that changed its ids may not do unless it is dumpable again.  Sanitizer builds only. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
    return 0;
}

int priv_mkdirs(const char *path, mode_t last_mode, char *why, size_t whysz)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof(buf)) {
        snprintf(why, whysz, "%s: path too long", path);
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;

            *p = '\0';
            if (mkdir(buf, c ? 0755 : last_mode) < 0 && errno != EEXIST) {
                snprintf(why, whysz, "%s: cannot create: %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return 0;
}

int priv_own_dir(const char *dir, uid_t uid, gid_t gid, mode_t mode, char *why, size_t whysz)
{
    struct stat st;

    if (priv_mkdirs(dir, mode, why, whysz) < 0)
        return -1;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, whysz, "%s: not a directory", dir);
        return -1;
    }
    if (geteuid() != 0)
        return 0;
    if ((st.st_uid != uid || st.st_gid != gid) && lchown(dir, uid, gid) < 0) {
        snprintf(why, whysz, "%s: cannot give it to uid %u: %s", dir, (unsigned)uid,
                 strerror(errno));
        return -1;
    }
    if ((st.st_mode & 07777) != mode && chmod(dir, mode) < 0) {
        snprintf(why, whysz, "%s: chmod: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int own_entries(int dfd, const char *dir, uid_t uid, gid_t gid, int depth, char *why,
                       size_t whysz)
{
    DIR *d = fdopendir(dfd);
    struct dirent *e;
    int rc = 0;

    if (!d) {
        close(dfd);
        snprintf(why, whysz, "%s: %s", dir, strerror(errno));
        return -1;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        struct stat st;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if ((st.st_uid != uid || st.st_gid != gid) &&
            fchownat(dirfd(d), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
            snprintf(why, whysz, "%s/%s: cannot give it to uid %u: %s", dir, e->d_name,
                     (unsigned)uid, strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode) && depth > 0) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

            if (sub >= 0)
                rc = own_entries(sub, e->d_name, uid, gid, depth - 1, why, whysz);
        }
    }
    closedir(d);
    return rc;
}

int priv_own_entries(const char *dir, uid_t uid, gid_t gid, char *why, size_t whysz)
{
    int dfd;

    if (geteuid() != 0)
        return 0;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(why, whysz, "%s: %s", dir, strerror(errno));
        return -1;
    }
    return own_entries(dfd, dir, uid, gid, 1, why, whysz);
}
