#!/bin/sh
# gateway-share-full.sh - the postoffice share's file system fills up (a small tmpfs): a delivery into P1/ is a failed attempt naming the share and the error, leaves no partial transfer file, and goes through once there is room (issue 19 faults).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T_SHARE"
mount -t tmpfs -o size=8m tmpfs "$T_SHARE" 2> /dev/null || { echo "1..0 # SKIP cannot mount a tmpfs here"; exit 0; }
T_CLEANUP='umount "$T_SHARE" 2>/dev/null || umount -l "$T_SHARE" 2>/dev/null'
plan 6
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH > /dev/null
write_router_config "" "[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 1000"
start_store && start_router && start_gateway; ok $? "store, router and gateway start (the share on an 8 MiB tmpfs)"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
fallocate -l 7m "$T_SHARE/filler" 2> /dev/null || dd if=/dev/zero of="$T_SHARE/filler" bs=1M count=7 2> /dev/null
head -c 1500000 /dev/urandom | base64 > "$T_DIR/body.txt"
Q=$( (printf 'Subject: to a full share\n\n'; cat "$T_DIR/body.txt") |
    "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "jsmith@$T_PO_DOMAIN" | awk '{print $NF}')
queue_shows 15 "$Q" "deferred.*attempts=[1-9].*[Nn]o space left"
r=$?; [ $r -eq 0 ] || "$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | diag
ok $r "a full share: deferred, the attempt counted, the reason says no space"
test -z "$(ls "$T_SHARE/P1" | grep -v '^$')"; ok $? "no transfer file, whole or partial, is left in P1/"
rm -f "$T_SHARE/filler"
wait_for 15 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list --match $Q | tail -1 | cut -d' ' -f1) = 0 ]"
ok $? "with room again the message is written and recorded delivered"
test "$(ls "$T_SHARE/P1"/*.P1 | wc -l)" = 1; ok $? "exactly one transfer file"
cat "$T_SHARE"/P1/*.P1 | tr -d '\r' | grep -qF "$(head -1 "$T_DIR/body.txt")"; r=$?
[ $r -eq 0 ] || { head -c 600 "$T_SHARE"/P1/*.P1; echo; head -1 "$T_DIR/body.txt"; } | diag
ok $r "holding the body"
