#!/bin/sh
# gateway-share-hang.sh - the postoffice share hangs (a hung mount: strace holds every fsync and fdatasync of the gateway): the delivery waiting on it is deferred after gateway.share_timeout naming the share and the operation, a further delivery is deferred at once without another worker blocked, and once the share answers each message is in P1/ exactly once; a gateway stopped while the share hangs exits without waiting and the next start delivers what was left (issue 19).
. "$(dirname "$0")/lib.sh"

can_strace || { echo "1..0 # SKIP strace cannot attach to a process here"; exit 0; }
plan 17
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH --mailbox AJONES \
    --mailbox BLEE > /dev/null
write_router_config "" "[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 1000
share_timeout = 2s"
start_store && start_router && start_gateway; ok $? "store, router and gateway start (share_timeout 2s)"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
send() { printf 'Subject: %s\n\nbody of %s\n' "$2" "$2" | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "$1@$T_PO_DOMAIN" | awk '{print $NF}'; }
tmp_files() { ls "$T_SHARE/P1" | grep -c '\.TMP$'; }
p1_holding() { grep -l "body of $1" "$T_SHARE"/P1/*.P1 2> /dev/null | wc -l; }

# ---- a delivery waiting on the hung share ----------------------------------------------------
slow_syncs GATEWAY 30000000 # every sync answers after 30 s: the share hangs
Q1=$(send jsmith first)
begun=$(date +%s)
queue_shows 10 "$Q1" "deferred.*attempts=[1-9].*no answer to flushing and renaming P1/G[0-9A-F]*\.TMP.* within 2s"
r=$?; took=$(( $(date +%s) - begun ))
[ $r -eq 0 ] || "$SPOOLCTL" -s "$T_SOCKET" list --match "$Q1" | diag
ok $r "the delivery on the hung share is deferred, the attempt counted, naming the operation and the wait"
test "$took" -lt 10; ok $? "... after the timeout, not when the share answers (${took}s)"
"$SPOOLCTL" -s "$T_SOCKET" list --match "$Q1" | grep -q "postoffice share $T_SHARE"
ok $? "... naming the share"
grep -q "postoffice share unreachable: postoffice share $T_SHARE: no answer to flushing and renaming" "$T_GATEWAY_LOG"
ok $? "the gateway logs the share as unreachable, and why"

# ---- while it hangs: deferred at once, no further worker given to the share ------------------
Q2=$(send ajones second)
queue_shows 5 "$Q2" "deferred.*deliveries are deferred until it answers"
r=$?; [ $r -eq 0 ] || "$SPOOLCTL" -s "$T_SOCKET" list --match "$Q2" | diag
ok $r "a further delivery is deferred at once, saying the share hangs"
test "$(tmp_files)" = 1; ok $? "only the hung delivery's temporary file is in P1/ ($(tmp_files))"
kill -0 "$GATEWAY_PID"; ok $? "the gateway is still running"

# ---- the share answers -----------------------------------------------------------------------
kill "$SLOW_PID" 2> /dev/null; wait "$SLOW_PID" 2> /dev/null
wait_for 20 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list | tail -1 | cut -d' ' -f1) = 0 ]"
r=$?; [ $r -eq 0 ] || "$SPOOLCTL" -s "$T_SOCKET" list | diag
ok $r "once the share answers, both are recorded delivered"
grep -q "postoffice share $T_SHARE answered flushing and renaming P1/G[0-9A-F]*\.TMP (the delivery of $Q1) after" "$T_GATEWAY_LOG"
ok $? "the gateway logs the share answering the hung operation"
test "$(p1_holding first)" = 1 && test "$(p1_holding second)" = 1
ok $? "each message is in P1/ exactly once (first $(p1_holding first), second $(p1_holding second))"
grep -q "$Q1: already written to the postoffice as P1/.* by an earlier attempt" "$T_GATEWAY_LOG"
ok $? "the retry of the hung delivery finds it written and does not write it again"
test "$(tmp_files)" = 0; ok $? "no temporary file is left in P1/"

# ---- a stop while the share hangs --------------------------------------------------------------
slow_syncs GATEWAY 60000000
Q3=$(send blee third)
queue_shows 10 "$Q3" "deferred.*no answer to"; ok $? "a third delivery hangs and is deferred"
begun=$(date +%s)
kill -TERM "$GATEWAY_PID"
wait_for 15 grep -q "stopped without waiting for 1 share operation(s) with no answer" "$T_GATEWAY_LOG"
gone=$?; took=$(( $(date +%s) - begun ))
# The process ends once the thread strace holds is let go (a thread in a hung system call holds
# the exit back however the process ends: SIGKILL too).  strace itself, holding an exiting
# process, no longer acts on SIGTERM.
kill -KILL "$SLOW_PID" 2> /dev/null; wait "$SLOW_PID" 2> /dev/null
wait "$GATEWAY_PID"; r=$?
GATEWAY_PID=
test $gone -eq 0 && test $r -eq 0
ok $? "SIGTERM: the gateway stops without waiting for the hung operation (${took}s, exit $r)"
start_gateway || bail "the gateway does not start again"
wait_for 20 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list | tail -1 | cut -d' ' -f1) = 0 ]"
ok $? "after a start the third message is recorded delivered"
test "$(p1_holding third)" = 1 && test "$(tmp_files)" = 0 && test "$(ls "$T_SHARE"/P1/*.P1 | wc -l)" = 3
ok $? "in P1/ once, the hung attempt's temporary file removed, three transfer files in all"
