#!/bin/sh
# repl-follow.sh - clients whose store list names the replicas first go straight to the master a replica names (store.repl_ipc in the IPC_ROLE after the hello): the router's link, smtpd's connections and spoolctl never try the address between (issue 21).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl_lib.sh"
SEND="python3 $top_srcdir/tests/integration/repl_send.py"

plan 11
for s in $REPL_SITES; do repl_write_site "$s"; repl_start "$s"; done
wait_for 60 repl_master; ok $? "three sites started: one is elected master ($(repl_master))"
m=$(repl_master)
set -- $(echo $REPL_SITES | tr ' ' '\n' | grep -v "^$m$")
r1=$1

# Between the first replica and the master, a store address that takes connections and counts
# them but never says hello: a client that walked the list in order would wait on it.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(64); print("ready", flush=True)
conns = []
while True:
    conns.append(s.accept()[0]); open(sys.argv[2], "w").write("%d\n" % len(conns))' \
    "$T_DIR/between.sock" "$T_DIR/between.count" > "$T_DIR/between.out" 2>&1 &
T_BG_PIDS="${T_BG_PIDS:-} $!"
wait_for 10 grep -q ready "$T_DIR/between.out" || bail "the listener between does not start"
between() { cat "$T_DIR/between.count" 2> /dev/null || echo 0; }
list="unix:$(repl_sock "$r1") unix:$T_DIR/between.sock unix:$(repl_sock "$m")"

start_peer sink sink || bail "the sink does not start"
write_router_config "ok.test smtp:[127.0.0.1]:$sink_PORT tls=none" "retry_first = 1s
retry_max = 2s
[global]
store = $list"
start_router || bail "the router does not start"
grep -q "mail store unavailable ($(repl_sock "$r1")): not master: .*(site $r1) is replica; the master is $m at $(repl_sock "$m")" "$T_ROUTER_LOG"
ok $? "the router's link to replica $r1 was refused, naming master $m and its store address"
grep -q "mail store ready: .*($(repl_sock "$m"))" "$T_ROUTER_LOG" && [ "$(between)" = 0 ]
ok $? "the router went from $r1 straight to $m, not to the address between ($(between) connections)"

start_smtpd || bail "smtpd does not start"
$SEND "$SMTP_PORT" 10 follow > "$T_DIR/sent.out"
n=$(awk '$2 == 250' "$T_DIR/sent.out" | wc -l)
test "$n" = 10; ok $? "10 messages accepted ($n)"
grep -q "mail store: not master: .*the master is $m at .*; trying $(repl_sock "$m")" "$T_SMTPD_LOG" &&
    [ "$(between)" = 0 ]
ok $? "smtpd's first store connection went from $r1 straight to $m ($(between) connections between)"
delivered() {
    awk '$2 == 250 { print $1 }' "$T_DIR/sent.out" | sort -u > "$T_DIR/acked"
    grep -h '^token ' "$T_DIR"/sink/*.eml 2> /dev/null | tr -d '\r' | awk '{ print $2 }' | sort -u > "$T_DIR/got"
    [ "$(comm -23 "$T_DIR/acked" "$T_DIR/got" | wc -l)" = 0 ]
}
wait_for 30 delivered; ok $? "all 10 delivered through master $m"

"$SPOOLCTL" -s "$list" generation > "$T_DIR/gen.out" 2>&1; r=$?
[ $r = 0 ] && [ "$(between)" = 0 ]
ok $? "spoolctl with the same list reaches $m without trying the address between (exit $r)"
"$SPOOLCTL" -s "$(repl_sock "$r1")" list > "$T_DIR/r1.out" 2>&1; r=$?
[ $r = 75 ] && grep -q "not master: .*the master is $m at $(repl_sock "$m")" "$T_DIR/r1.out"
ok $? "spoolctl on replica $r1 alone: exit $r, naming master $m and its address"
"$SPOOLCTL" -s "$(repl_sock "$r1")" repl > "$T_DIR/repl.out" 2>&1
grep -q "^site $r1 .*: replica" "$T_DIR/repl.out" && grep -q "^  $m .*connected, master" "$T_DIR/repl.out"
ok $? "spoolctl repl is still answered by the replica itself, which names $m master"

# Without repl_ipc a replica names the master but no address: clients walk their list.
repl_kill "$r1"
sed -i 's/^repl_ipc = .*/repl_ipc =/' "$T_DIR/$r1.ini"
repl_start "$r1"
wait_for 60 repl_caught_up "$r1" 2; r=$?
"$SPOOLCTL" -s "$(repl_sock "$r1")" list > "$T_DIR/r1.out" 2>&1
[ $r = 0 ] && grep -q "the master is $m (no store address for it in store.repl_ipc)" "$T_DIR/r1.out"
ok $? "a replica without store.repl_ipc names the master $m, and says it has no address for it"
test "$(repl_masters)" = 1; ok $? "one master throughout ($m)"
stop_smtpd; stop_router; repl_stop_all
