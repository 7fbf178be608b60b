#!/bin/sh
# spoolctl-metrics.sh - spoolctl metrics: Prometheus text whose queue gauges match the queue and whose counters match what happened (sent, deferred, bounced, share failures), checked by metrics_check.py.
. "$(dirname "$0")/lib.sh"
FAKE_GW="$top_srcdir/tests/integration/fake_gateway.py"
CHECK="$top_srcdir/tests/integration/metrics_check.py"

plan 21
start_peer sink sink; start_peer temp tempfail; start_peer rej reject
write_router_config "a.test smtp:[127.0.0.1]:$sink_PORT
src.test smtp:[127.0.0.1]:$sink_PORT
t.test smtp:[127.0.0.1]:$temp_PORT
r.test smtp:[127.0.0.1]:$rej_PORT" "retry_first = 1h
retry_max = 2h
[gateway]
open_retry_interval = 1h"
start_store; ok $? "spoolgate-store starts"
python3 "$FAKE_GW" "$T_DIR/run/gateway.sock" bob > "$T_DIR/gw.out" 2>&1 &
T_BG_PIDS="$T_BG_PIDS $!"
wait_for 10 test -S "$T_DIR/run/gateway.sock" # before the router's first delivery (slow runs)
start_smtpd; ok $? "spoolgate-smtpd starts"
start_router; ok $? "spoolgate-router starts"
inject() { printf 'Subject: t\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "$1" | sed -n 's/^queued as //p'; }
sc() { "$SPOOLCTL" -s "$T_SOCKET" "$@"; }

inject one@a.test > /dev/null; inject two@a.test > /dev/null
QT=$(inject x@t.test); inject y@r.test > /dev/null; QP=$(inject "bob@$T_PO_DOMAIN")
peer_got sink one@a.test && peer_got sink two@a.test; ok $? "two messages to a.test delivered"
peer_got sink s@src.test; ok $? "the bounce of r.test reached its sender"
queue_shows 10 "$QT" "deferred  attempts=1" && queue_shows 10 "$QP" "deferred  attempts=1 .*share unreachable"
ok $? "t.test and the postoffice recipient deferred once each"
wait_for 10 sh -c "test \$($SPOOLCTL -s $T_SOCKET stats | sed -n 's/^messages: //p') = 2"
ok $? "two messages left in the queue"

sc metrics > "$T_DIR/metrics.txt"; ok $? "spoolctl metrics"
sc list --json > "$T_DIR/list.json"
python3 "$CHECK" "$T_DIR/metrics.txt" "$T_DIR/list.json" \
    'spoolgate_deliveries_total{result="sent"}=3' 'spoolgate_deliveries_total{result="bounced"}=1' \
    'spoolgate_deliveries_total{result="deferred"}>=2' 'spoolgate_share_failures_total>=1' \
    'spoolgate_store_connections{role="router"}>=1' 'spoolgate_store_commit_seconds_count>=5' \
    'spoolgate_attempts_total>=5' > "$T_DIR/check.tap" 2>&1
while read -r line; do
    case $line in
    "ok "*) ok 0 "${line#ok [0-9]* - }" ;;
    "not ok "*) ok 1 "${line#not ok [0-9]* - }" ;;
    *) echo "# $line" ;;
    esac
done < "$T_DIR/check.tap"
sc metrics --no-age | grep -q "spoolgate_queue_age_recipients"; test $? -ne 0
ok $? "--no-age leaves the age gauges (and their queue walk) out"
stop_router; stop_store; start_store; ok $? "the store restarts"
sc metrics > "$T_DIR/metrics2.txt" && sc list --json > "$T_DIR/list2.json"
python3 "$CHECK" "$T_DIR/metrics2.txt" "$T_DIR/list2.json" > "$T_DIR/check2.tap" 2>&1
grep -q "^ok 3 - the queue gauges match" "$T_DIR/check2.tap"
ok $? "after the restart the queue by state and age (rebuilt by the re-enumeration) still matches the queue"
grep "^not ok" "$T_DIR/check2.tap" | diag
