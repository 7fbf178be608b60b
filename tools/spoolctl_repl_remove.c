/* spoolctl_repl_remove.c - spoolctl repl remove SITE: the master takes a stopped site out of the replication group's membership. */
#include <stdio.h>
#include <string.h>

#include "spoolctl.h"

int spoolctl_cmd_repl_remove(struct ipc_client *c, int argc, char **argv)
{
    struct ipc_repl_remove m = {{0}};
    struct ipc_repl_removed done;
    struct ipc_reader r;
    int ret;

    if (argc != 3)
        spoolctl_usage_error("repl remove takes one site: its name in store.repl_group");
    if (!argv[2][0] || strlen(argv[2]) > IPC_NAME_MAX)
        spoolctl_usage_error("\"%s\" is not a site's name", argv[2]);
    snprintf(m.site, sizeof(m.site), "%s", argv[2]);
    /* The master: every site that does not serve as master refuses this connection at the
     * hello, and none serving exits 75. */
    spoolctl_connect(c);
    ipc_encode_repl_remove(&c->out, ipc_client_request_id(c), &m);
    spoolctl_send(c);
    if ((ret = spoolctl_recv_soft(c, &r, "repl remove")) != 0)
        return ret;
    if (r.type != IPC_REPL_REMOVED || ipc_decode_repl_removed(&r, &done) < 0) {
        fprintf(stderr, "spoolctl: bad answer to repl remove: %s\n",
                r.error ? r.error : ipc_type_name(r.type));
        return SPOOLCTL_EX_FAIL;
    }
    printf("%s\n", done.text);
    return SPOOLCTL_EX_OK;
}
