#!/bin/sh
# gateway-share-vanish.sh - the postoffice share (a bind mount) vanishes while a transfer file is being written (lazily unmounted while the gateway's fsync is held by strace): the delivery is a failed attempt naming the share and the error, nothing is reported delivered and no file lands in P1/; once the share is back the journal's temporary file is renamed, and the message is in P1/ exactly once (issue 19).
. "$(dirname "$0")/lib.sh"

can_strace || { echo "1..0 # SKIP strace cannot attach to a process here"; exit 0; }
REAL="$T_DIR/share-real"
mkdir -p "$REAL" "$T_SHARE"
mount --bind "$REAL" "$T_SHARE" 2> /dev/null || { echo "1..0 # SKIP cannot bind-mount here"; exit 0; }
T_CLEANUP='umount "$T_SHARE" 2>/dev/null || umount -l "$T_SHARE" 2>/dev/null'
plan 8
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH > /dev/null
write_router_config "" "[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 1000
share_timeout = 60s"
start_store && start_router && start_gateway; ok $? "store, router and gateway start (the share a bind mount)"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
head -c 300000 /dev/urandom | base64 > "$T_DIR/body.txt"

slow_syncs GATEWAY 3000000 # each sync takes 3 s: the file is written, its flush is under way
Q=$( (printf 'Subject: vanishing share\n\n'; cat "$T_DIR/body.txt") |
    "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "jsmith@$T_PO_DOMAIN" | awk '{print $NF}')
wait_for 10 sh -c "ls '$REAL/P1' | grep -q '\\.TMP\$'"
sleep 0.5
umount -l "$T_SHARE"
ok $? "the share is unmounted while the transfer file is being flushed"
queue_shows 20 "$Q" "deferred.*attempts=[1-9].*share $T_SHARE: .*No such file or directory"
r=$?; [ $r -eq 0 ] || "$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | diag
ok $r "the delivery is deferred, the attempt counted, naming the share and the error"
test -z "$(ls "$REAL/P1" | grep '\.P1$')"; ok $? "no transfer file landed in P1/"
kill "$SLOW_PID" 2> /dev/null; wait "$SLOW_PID" 2> /dev/null
"$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | grep -q deferred; ok $? "still deferred while the share is gone"

mount --bind "$REAL" "$T_SHARE"
wait_for 20 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list --match $Q | tail -1 | cut -d' ' -f1) = 0 ]"
r=$?; [ $r -eq 0 ] || "$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | diag
ok $r "with the share back the message is recorded delivered"
test "$(ls "$REAL/P1" | grep -c '\.P1$')" = 1 && test "$(ls "$REAL/P1" | grep -c '\.TMP$')" = 0
ok $? "exactly one transfer file in P1/, no temporary file left"
cat "$REAL"/P1/*.P1 | tr -d "\r" | grep -qF "$(tail -1 "$T_DIR/body.txt")"; ok $? "holding the whole body"
