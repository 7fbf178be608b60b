#!/bin/sh
# router-scale.sh - the router's active set is bounded, a down next hop is deferred whole with few connections, SIGTERM is quick with everything in flight.
. "$(dirname "$0")/lib.sh"
N=3000
LIMIT=100

plan 12
HANG_PORT=$(free_port)
write_config "[global]
hostname = mx.test.invalid
[router]
transport_map = $T_TRANSPORT
active_limit = $LIMIT
due_interval = 1s
retry_first = 1h
retry_max = 1h
greeting_timeout = 1h"
printf 'example.test smtp:[127.0.0.1]:%s tls=none\n' "$HANG_PORT" > "$T_TRANSPORT"
hang_peer
start_store
"$STORE_LOAD" submit -s "$T_SOCKET" -c 4 -n "$N" --min 200 --max 200 --seed 7 > "$T_DIR/fill.out" 2>&1
ok $? "$N messages queued while no router runs ($(cat "$T_DIR/fill.out"))"
total=$("$SPOOLCTL" -s "$T_SOCKET" stats | awk '$2 == "queued:" { print $3 }')
active() { "$SPOOLCTL" -s "$T_SOCKET" stats | awk '$2 == "active:" { print $3 }'; }
deferred() { "$SPOOLCTL" -s "$T_SOCKET" stats | awk '$2 == "deferred:" { print $3 }'; }

# A next hop that never greets keeps every recipient it gets in memory: the bound must hold.
start_daemon ROUTER "$ROUTER_BIN" "$T_ROUTER_LOG" grep -q "connect to\|mail store ready" "$T_ROUTER_LOG"
ok $? "the router starts with $total recipients queued"
wait_for 10 sh -c "[ \$(grep -c . '$T_DIR/hang.out') -gt 1 ] || [ \$($SPOOLCTL -s $T_SOCKET stats | awk '\$2 == \"active:\" { print \$3 }') -gt 0 ]"
max=0
for _ in $(seq 1 30); do
    a=$(active); [ "$a" -gt "$max" ] && max=$a
    sleep 0.1
done
# At most active_limit, plus one page of messages of up to 3 recipients each.
test "$max" -gt 0 && test "$max" -le $((LIMIT * 4))
ok $? "at most $((LIMIT * 4)) recipients taken on at once with active_limit = $LIMIT (at most $max seen, $total queued)"
test "$("$SPOOLCTL" -s "$T_SOCKET" list | tail -1 | cut -d' ' -f1)" = "$N"
ok $? "every message is still listed by spoolctl"
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$ROUTER_PID/status")
test "$rss" -lt 65536; ok $? "the router's memory stays small ($rss KiB)"

lines=$(wc -l < "$T_ROUTER_LOG")
t0=$(date +%s%N)
stop_router
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
test "$ms" -lt 5000; ok $? "SIGTERM with connections hanging in the greeting: the router is gone in $ms ms"
after=$(( $(wc -l < "$T_ROUTER_LOG") - lines ))
test "$after" -le 10; ok $? "and logs a summary, not a line per recipient ($after lines)"
grep -q "stopping: .* messages (.* recipients) in memory are handed back" "$T_ROUTER_LOG"
ok $? "the summary says what was handed back"

# The next hop goes away for good: a restart re-categorizes everything, the down next hop is
# deferred whole, with a handful of connections instead of one per message.
kill "$HANG_PID"; wait "$HANG_PID" 2>/dev/null
start_daemon ROUTER "$ROUTER_BIN" "$T_ROUTER_LOG" grep -q "mail store ready" "$T_ROUTER_LOG"
wait_for 60 sh -c "[ \$($SPOOLCTL -s $T_SOCKET stats | awk '\$2 == \"deferred:\" { print \$3 }') -ge $total ]"
ok $? "after a restart every one of the $total recipients is deferred ($(deferred) deferred)"
attempts=$(sed -n "$((lines + after + 1)),\$p" "$T_ROUTER_LOG" | grep -v ": to=<" | grep -c "connect to \[127.0.0.1\]:$HANG_PORT")
test "$attempts" -le 50; ok $? "with $attempts connection attempts for $N messages (the next hop is marked down)"
grep -q "next hop down: 4.4.1 connect to" "$T_ROUTER_LOG"; ok $? "the router logs the next hop down once, with the reason"
"$SPOOLCTL" -s "$T_SOCKET" list --state deferred --limit 1 | grep -q "connection refused"
ok $? "each deferred recipient carries the reason"
