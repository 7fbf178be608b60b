#!/bin/sh
# router-gateway.sh - postoffice recipients when the gateway is missing or speaks another version: deferred with that reason, never failed, logged once per change.
. "$(dirname "$0")/lib.sh"
FAKE_GW="$top_srcdir/tests/integration/fake_gateway.py"
GW_SOCKET="$T_DIR/run/gateway.sock"

plan 9
write_router_config "" "retry_first = 1s
retry_max = 1s
[gateway]
open_retry_interval = 1s"
start_store && start_router; ok $? "store and router start"
printf 'Subject: to the postoffice\n\nhello\n' | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test \
    "bob@$T_PO_DOMAIN" > "$T_DIR/inject.out"
Q=$(sed -n 's/^queued as //p' "$T_DIR/inject.out")
queue_shows 5 "$Q" "deferred.*route=gateway.*postoffice gateway unavailable.*connect"
ok $? "no gateway: deferred, route=gateway, with the connect error as reason"
sleep 3
"$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | grep -q "attempts=[2-9]"; ok $? "retried every open_retry_interval, still deferred"
# (each attempt's outcome has its own to= line, the link's state one line per change)
test "$(grep -v ': to=<' "$T_ROUTER_LOG" | grep -c 'postoffice gateway unavailable')" = 1
ok $? "the missing gateway is logged once, not per attempt"

python3 "$FAKE_GW" "$GW_SOCKET" bob --major 2 > "$T_DIR/gw.out" 2>&1 &
GW=$!
T_BG_PIDS="$T_BG_PIDS $GW"
wait_for 10 grep -q "speaks protocol 2\.1" "$T_ROUTER_LOG"; ok $? "a gateway of another protocol version is refused, loudly"
queue_shows 5 "$Q" "deferred.*speaks protocol 2"
ok $? "and the recipient is deferred with that reason"
sleep 3
test "$(grep -v ': to=<' "$T_ROUTER_LOG" | grep -c 'speaks protocol 2\.1')" = 1; ok $? "logged once while it stays so"
! "$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | grep -q "  failed  "; ok $? "never failed"
kill "$GW"
kill -0 "$ROUTER_PID"; ok $? "the router is still running"
