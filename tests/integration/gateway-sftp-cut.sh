#!/bin/sh
# gateway-sftp-cut.sh - the SFTP session is killed (its sshd process, SIGKILL) while a transfer file is being written (strace slows the gateway's sends): the delivery is a failed attempt naming the SFTP share and the error, the next attempt logs in again and writes it, and the message is in P1/ exactly once, whole, with no partial temporary file left behind (issue 19).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/integration/sshd_peer.sh"

can_strace || { echo "1..0 # SKIP strace cannot attach to a process here"; exit 0; }
plan 7
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH > /dev/null
SSH_PORT=$(free_port)
start_sshd "$SSH_PORT"; ok $? "an OpenSSH sshd (internal-sftp) on 127.0.0.1:$SSH_PORT"
write_router_config "" "[gateway]
$(sftp_share_config "$T_SHARE")
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 1000"
start_store && start_router && start_gateway; ok $? "store, router and gateway (over SFTP) start"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
head -c 1500000 /dev/urandom | base64 > "$T_DIR/body.txt"

# Only libssh2 sends with sendto(): each of its packets now takes 50 ms, the transfer seconds.
strace -qq -f -p "$GATEWAY_PID" -o /dev/null -e trace=sendto -e inject=sendto:delay_enter=50000 &
SLOW_PID=$!
T_BG_PIDS="$T_BG_PIDS $SLOW_PID"
sleep 0.5
Q=$( (printf 'Subject: cut off\n\n'; cat "$T_DIR/body.txt") |
    "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "jsmith@$T_PO_DOMAIN" | awk '{print $NF}')
wait_for 20 sh -c "ls '$T_SHARE/P1' | grep -q '\\.TMP\$'"
sleep 1
pkill -KILL -P "$SSHD_PID"
ok $? "the SFTP session's sshd is killed while the file is written ($(ls -l "$T_SHARE"/P1/*.TMP 2>/dev/null | awk '{print $5}') octets so far)"
# (the retry may have written it already: the router's log has the attempt)
wait_for 20 grep -q "$Q: to=<jsmith@$T_PO_DOMAIN>, relay=postoffice, .*status=deferred (4.4.1 share sftp://.*: write P1/G[0-9A-F]*\.TMP: " "$T_ROUTER_LOG"
ok $? "the delivery is deferred, naming the SFTP share, the write and the error"
kill "$SLOW_PID" 2> /dev/null; wait "$SLOW_PID" 2> /dev/null
wait_for 30 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list --match $Q | tail -1 | cut -d' ' -f1) = 0 ]"
r=$?; [ $r -eq 0 ] || "$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | diag
ok $r "a new session writes it: recorded delivered"
test "$(ls "$T_SHARE/P1" | grep -c '\.P1$')" = 1 && cat "$T_SHARE"/P1/*.P1 | tr -d '\r' | grep -qF "$(tail -1 "$T_DIR/body.txt")"
ok $? "exactly one transfer file in P1/, holding the whole body"
wait_for 10 sh -c "! ls '$T_SHARE/P1' | grep -q '\\.TMP\$'"
r=$?; [ $r -eq 0 ] || ls -l "$T_SHARE/P1" | diag
ok $r "the cut-off attempt's partial temporary file is removed"
