#!/bin/sh
# gateway-unrecorded.sh - a postoffice delivery the router could not record (the store went away while the gateway wrote it, then the router was killed): the gateway keeps its journal entry until the router says the outcome is recorded, so the next attempt finds the transfer file written and the message is in P1/ once (daemon-order.sh saw it twice).
. "$(dirname "$0")/lib.sh"

can_strace || { echo "1..0 # SKIP strace cannot attach to a process here"; exit 0; }
plan 9
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH > /dev/null
write_router_config "" "retry_first = 1s
retry_max = 1s
[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1s"
start_store && start_router && start_gateway; ok $? "store, router and gateway start"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
p1_holding() { grep -l "body of $1" "$T_SHARE"/P1/*.P1 2> /dev/null | wc -l; }

# The gateway's syncs take 2 s each: the delivery is under way while the store goes.
slow_syncs GATEWAY 2000000
Q=$(printf 'Subject: once\n\nbody of once\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "jsmith@$T_PO_DOMAIN" | awk '{print $NF}')
wait_for 10 sh -c "ls '$T_SHARE/P1' | grep -q '\.TMP$'"; ok $? "the gateway writes $Q's transfer file"
sleep 0.5; stop_store
wait_for 20 sh -c "[ \$(grep -l 'body of once' '$T_SHARE'/P1/*.P1 2>/dev/null | wc -l) = 1 ]"
ok $? "it is in P1/ while the store is away"
wait_for 10 grep -q "$Q: to=<jsmith@po.test>, relay=postoffice.*status=sent" "$T_ROUTER_LOG"
r=$?; kill -9 "$ROUTER_PID"; wait "$ROUTER_PID" 2> /dev/null; ROUTER_PID=
ok $r "the router has the outcome and is killed before the store is back to record it"
kill "$SLOW_PID" 2> /dev/null; wait "$SLOW_PID" 2> /dev/null

# The store and the router again: the lease brings the recipient back.
start_store && start_router; ok $? "store and router start again"
wait_for 20 sh -c "[ \"\$($SPOOLCTL -s $T_SOCKET list | tail -1 | cut -d' ' -f1)\" = 0 ]"
r=$?; [ $r -eq 0 ] || "$SPOOLCTL" -s "$T_SOCKET" list | diag
ok $r "the retry is recorded delivered"
test "$(p1_holding once)" = 1; ok $? "the message is in P1/ once ($(p1_holding once))"
grep -q "$Q: already written to the postoffice as P1/.* by an earlier attempt" "$T_GATEWAY_LOG"
ok $? "the gateway's journal answered the retry: already written by the earlier attempt"

# Recorded now: the router said so and the journal forgot it (a restart finds nothing carried).
sleep 1; stop_gateway; : > "$T_GATEWAY_LOG"; start_gateway
grep -q "notice: started: postoffice" "$T_GATEWAY_LOG" && ! grep -q "were being written when the gateway stopped" "$T_GATEWAY_LOG"
ok $? "once recorded, the gateway's journal holds nothing for it (GW_RECORDED)"
