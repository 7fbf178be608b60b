#!/bin/sh
# router-gateway-limit.sh - the router has at most gateway.max_deliveries postoffice deliveries in flight (the rest wait in the router in arrival order, not in the gateway's memory); a stop drops the waiting ones without outcomes and the next start sends each exactly once (issue 19).
. "$(dirname "$0")/lib.sh"
FAKE_GW="$top_srcdir/tests/integration/fake_gateway.py"
GW_SOCKET="$T_DIR/run/gateway.sock"

plan 7
write_router_config "" "[gateway]
max_deliveries = 3"
start_store && start_router; ok $? "store and router start"
start_gw() { # start_gw HOLD: the fake gateway, each delivery taking HOLD seconds
    python3 "$FAKE_GW" "$GW_SOCKET" bob --hold "$1" >> "$T_DIR/gw.out" 2>&1 &
    GW=$!
    T_BG_PIDS="$T_BG_PIDS $GW"
}
inject() { # inject N TAG
    for i in $(seq 1 "$1"); do
        printf 'Subject: %s %s\n\nhello\n' "$2" "$i" | "$SENDMAIL" -s "$T_SOCKET" -f a@src.test \
            "bob@$T_PO_DOMAIN" > /dev/null || return 1
    done
}
delivered() { grep -c "status=sent" "$T_ROUTER_LOG"; }
start_gw 0.3
inject 24 first; ok $? "24 messages to the postoffice queued"
wait_for 60 sh -c "[ \$(grep -c status=sent '$T_ROUTER_LOG') -ge 24 ]"; ok $? "all 24 delivered ($(delivered))"
max=$(awk '/^outstanding/ { if ($2 > m) m = $2 } END { print m + 0 }' "$T_DIR/gw.out")
test "$max" -ge 2 && test "$max" -le 3; ok $? "at most 3 in flight at once, and more than one ($max)"

kill "$GW"; wait "$GW" 2> /dev/null
: > "$T_DIR/gw.out"
start_gw 1.5
inject 12 second || bail "cannot queue"
wait_for 20 sh -c "[ \$(grep -c '^outstanding' '$T_DIR/gw.out') -ge 3 ]"
t0=$(date +%s)
stop_router
t=$(( $(date +%s) - t0 ))
test "$t" -le 5; ok $? "SIGTERM with 3 deliveries in flight and 9 waiting: stopped in ${t}s"
kill "$GW"; wait "$GW" 2> /dev/null
start_gw 0.1
start_router || bail "the router does not start again"
wait_for 60 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list | tail -1 | cut -d' ' -f1) = 0 ]"
ok $? "after a start every waiting message is delivered and the queue is empty"
n=$(grep -c '^outstanding' "$T_DIR/gw.out")
test "$n" = 12; ok $? "each of the 12 sent to the gateway exactly once ($n)"
