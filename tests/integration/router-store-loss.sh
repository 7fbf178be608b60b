#!/bin/sh
# router-store-loss.sh - the store killed (-9) while the router has thousands of recipients in flight: the router stays up and answers, logs a summary instead of a line per recipient, and takes everything up again when the store is back; nothing is lost (issue 19 faults).
. "$(dirname "$0")/lib.sh"
N=$(scale 3000)

plan 8
HANG_PORT=$(free_port)
hang_peer || bail "the hanging peer does not start"
start_peer sink sink
write_config "[global]
hostname = mx.test.invalid
[router]
transport_map = $T_TRANSPORT
due_interval = 1s
retry_first = 1h
retry_max = 1h
greeting_timeout = 1h"
printf 'example.test smtp:[127.0.0.1]:%s tls=none\nok.test smtp:[127.0.0.1]:%s tls=none\n' "$HANG_PORT" "$sink_PORT" > "$T_TRANSPORT"
start_store || bail "the store does not start"
"$STORE_LOAD" submit -s "$T_SOCKET" -c 4 -n "$N" --min 200 --max 200 --seed 11 > "$T_DIR/fill.out" 2>&1
ok $? "$N messages queued for a next hop that never greets"
total=$("$SPOOLCTL" -s "$T_SOCKET" stats | awk '$2 == "queued:" { print $3 }')
start_daemon ROUTER "$ROUTER_BIN" "$T_ROUTER_LOG" grep -q "mail store ready" "$T_ROUTER_LOG"
active() { "$SPOOLCTL" -s "$T_SOCKET" stats | awk '$2 == "active:" { print $3 }'; }
wait_for 60 sh -c "[ \$($SPOOLCTL -s $T_SOCKET stats | awk '\$2 == \"active:\" { print \$3 }') -ge $total ]"
ok $? "the router has all $total recipients in flight ($(active) active)"
lines=$(wc -l < "$T_ROUTER_LOG")
kill -9 "$STORE_PID"; wait "$STORE_PID" 2>/dev/null; STORE_PID=
sleep 3
kill -0 "$ROUTER_PID"; ok $? "the store killed: the router runs on"
after=$(( $(wc -l < "$T_ROUTER_LOG") - lines ))
test "$after" -le 12; r=$?
[ $r -eq 0 ] || sed -n "$((lines + 1)),\$p" "$T_ROUTER_LOG" | head -20 | diag
ok $r "and logs a summary, not a line per recipient ($after lines)"
kill -HUP "$ROUTER_PID"
wait_for 10 grep -q "reloaded" "$T_ROUTER_LOG"; ok $? "it answers a SIGHUP meanwhile"
start_store || bail "the store does not start again"
wait_for 30 sh -c "[ \$(grep -c 'mail store ready' '$T_ROUTER_LOG') -ge 2 ]"; ok $? "the router reconnects by itself"
test "$("$SPOOLCTL" -s "$T_SOCKET" list | tail -1 | cut -d' ' -f1)" = "$N"; ok $? "all $N messages are still there"
printf 'Subject: after\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@ok.test b@ok.test > /dev/null
wait_for 15 sh -c "cat '$T_DIR'/sink/*.json 2>/dev/null | grep -q b@ok.test"; ok $? "new mail flows at once"
