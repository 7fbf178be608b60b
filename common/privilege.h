/* privilege.h - least privilege: the daemons' users, dropping root for good, which peer uid plays which role. */
#ifndef SPOOLGATE_PRIVILEGE_H
#define SPOOLGATE_PRIVILEGE_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

enum priv_role {
    PRIV_ROLE_NONE = 0, /* no spoolgate daemon's user */
    PRIV_ROLE_TRUSTED,  /* root, or the uid the server itself runs as */
    PRIV_ROLE_STORE,
    PRIV_ROLE_SMTPD,
    PRIV_ROLE_ROUTER,
    PRIV_ROLE_GATEWAY,
    PRIV_ROLE_COUNT
};

struct priv_user {
    char name[33];
    uid_t uid;
    gid_t gid; /* its primary group */
    int known; /* 0: no such user on this system */
};

/* Every configured user and the IPC group, looked up once at start. */
struct priv_ids {
    struct priv_user user[PRIV_ROLE_COUNT]; /* indexed by role; NONE and TRUSTED unused */
    char ipc_group[33];
    gid_t ipc_gid;
    int ipc_known;
};

void priv_ids_load(const struct sg_config *c, struct priv_ids *ids);
/* "smtpd" for PRIV_ROLE_SMTPD, ... */
const char *priv_role_name(enum priv_role role);
/* The role whose user uid is; root and our own uid are TRUSTED. */
enum priv_role priv_role_of(const struct priv_ids *ids, uid_t uid);

/* What stops a root process from running as role: "" when nothing does,
 * else why (the user or the group does not exist). */
void priv_check_drop(const struct priv_ids *ids, enum priv_role role, char *why, size_t whysz);
/* Drop from root to role's user for good: supplementary groups its primary
 * group and the IPC group only, then real, effective and saved gid and uid,
 * then no new privileges.  Verified afterwards (regaining root must fail).
 * 0, or -1 with why. */
int priv_drop(const struct priv_ids *ids, enum priv_role role, char *why, size_t whysz);

/* mkdir -p: the components we create are 0755 (searchable, so each
 * daemon's user can reach its own directory below), the last one last_mode.
 * 0, or -1 with why. */
int priv_mkdirs(const char *path, mode_t last_mode, char *why, size_t whysz);
/* Make dir (if missing) and give it to uid:gid with mode; as root only
 * (elsewhere it is only created).  0, or -1 with why. */
int priv_own_dir(const char *dir, uid_t uid, gid_t gid, mode_t mode, char *why, size_t whysz);
/* Give every entry directly inside dir (and one level of subdirectories)
 * to uid:gid, e.g. a store directory written earlier as root. */
int priv_own_entries(const char *dir, uid_t uid, gid_t gid, char *why, size_t whysz);

#endif
