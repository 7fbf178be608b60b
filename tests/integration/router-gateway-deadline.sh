#!/bin/sh
# router-gateway-deadline.sh - a gateway that takes postoffice deliveries and never answers (a wedged gateway: the fake one holds each for minutes): after gateway.deliver_timeout the router resets the link, defers every delivery in flight with a reason naming the wait, and, once a working gateway is there, delivers each message once (issue 19: nothing waits for ever).
. "$(dirname "$0")/lib.sh"
FAKE_GW="$top_srcdir/tests/integration/fake_gateway.py"
GW_SOCKET="$T_DIR/run/gateway.sock"

plan 6
write_router_config "" "[gateway]
max_deliveries = 2
deliver_timeout = 3s
open_retry_interval = 1s"
start_store && start_router; ok $? "store and router start (deliver_timeout 3s)"
python3 "$FAKE_GW" "$GW_SOCKET" bob --hold 600 >> "$T_DIR/gw.out" 2>&1 &
GW=$!
T_BG_PIDS="$T_BG_PIDS $GW"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
for i in 1 2 3; do
    printf 'Subject: wedged %s\n\nhello\n' "$i" | "$SENDMAIL" -s "$T_SOCKET" -f a@src.test "bob@$T_PO_DOMAIN" > /dev/null
done
wait_for 15 grep -q "postoffice gateway: no answer to the delivery of [0-9A-Z]* within 3s: the link is reset and its 2 deliveries deferred" "$T_ROUTER_LOG"
ok $? "after 3s without an answer the router resets the link, naming the wait (2 in flight)"
wait_for 5 grep -q "status=deferred (4.4.1 postoffice gateway: no answer to the delivery of" "$T_ROUTER_LOG"
ok $? "the deliveries in flight are deferred with that reason"
test "$(grep -c 'status=sent' "$T_ROUTER_LOG")" = 0; ok $? "nothing is reported delivered"
kill "$GW"; wait "$GW" 2> /dev/null
python3 "$FAKE_GW" "$GW_SOCKET" bob --hold 0.1 >> "$T_DIR/gw.out" 2>&1 &
GW=$!
T_BG_PIDS="$T_BG_PIDS $GW"
wait_for 20 sh -c "[ \$(grep -c 'status=sent' '$T_ROUTER_LOG') -ge 3 ]"
ok $? "with a gateway that answers, all three are delivered ($(grep -c 'status=sent' "$T_ROUTER_LOG"))"
wait_for 10 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list | tail -1 | cut -d' ' -f1) = 0 ]"
ok $? "and nothing is left in the queue"
