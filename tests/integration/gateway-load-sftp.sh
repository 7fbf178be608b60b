#!/bin/sh
# gateway-load-sftp.sh - the same busy postoffice over SFTP through a real sshd: nothing lost or doubled.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/integration/sshd_peer.sh"
SSH_PORT=$(free_port)
start_sshd "$SSH_PORT" || bail "cannot start sshd on 127.0.0.1:$SSH_PORT"
SHARE_CONFIG="$(sftp_share_config "$T_SHARE")"
. "$top_srcdir/tests/integration/gateway_load.sh"
