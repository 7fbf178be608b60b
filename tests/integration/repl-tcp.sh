#!/bin/sh
# repl-tcp.sh - a replicated store reached over IPC over TCP with mutual TLS: smtpd and the router list every site as tcp:ADDRESS:PORT, follow the master across a kill -9, and every message that got 250 is delivered (issue 21).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl_lib.sh"
SEND="python3 $top_srcdir/tests/integration/repl_send.py"

plan 9
make_ca ca && make_cert mx mx.test "DNS:mx.test,IP:127.0.0.1" || bail "openssl: no certificates"
TLS_KEYS="ipc_tls_cert = $T_DIR/mx.pem
ipc_tls_key = $T_DIR/mx.key
ipc_tls_ca = $T_DIR/ca.pem"
list= REPL_IPC=
for s in $REPL_SITES; do
    port=$(free_port)
    eval "IPC_$s=$port"
    list="$list tcp:127.0.0.1:$port"
    REPL_IPC="$REPL_IPC $s=tcp:127.0.0.1:$port"
done
for s in $REPL_SITES; do
    eval "port=\$IPC_$s"
    repl_write_site "$s" "ipc_listen = 127.0.0.1:$port
ipc_tls_peers = mx.test=smtpd mx.test=router mx.test=admin
[global]
$TLS_KEYS"
    repl_start "$s"
done
wait_for 60 repl_master; ok $? "three sites started, each listening on TCP: one is elected master ($(repl_master))"
start_peer sink sink || bail "the sink does not start"
write_router_config "ok.test smtp:[127.0.0.1]:$sink_PORT tls=none" "retry_first = 1s
retry_max = 2s
[global]
store =$list
$TLS_KEYS"
start_smtpd || bail "smtpd does not start"
start_router || bail "the router does not start"
smtpd_pid=$SMTPD_PID router_pid=$ROUTER_PID
m=$(repl_master)
wait_for 10 grep -qE "client 127\.0\.0\.1:[0-9]+ cert mx\.test spoolgate-smtpd/smtpd: connected" "$T_DIR/store-$m.log"
ok $? "smtpd reached the master ($m) over TCP with its certificate"

$SEND "$SMTP_PORT" 20 before > "$T_DIR/sent.before"
n=$(awk '$2 == 250' "$T_DIR/sent.before" | wc -l)
test "$n" = 20; ok $? "20 messages accepted through the master over TCP ($n)"

repl_kill "$m"
new=$(repl_new_master "$m")
test -n "$new"; ok $? "master $m killed: $new elected"
# smtpd walks its list to the new master: a session may get 4xx until then, never a lost 250.
wait_for 30 sh -c "$SEND $SMTP_PORT 1 probe 5 | grep -q ' 250 '"
ok $? "smtpd accepts again, through the new master ($new) over TCP"
$SEND "$SMTP_PORT" 20 after > "$T_DIR/sent.after"
n=$(awk '$2 == 250' "$T_DIR/sent.after" | wc -l)
test "$n" = 20; ok $? "20 more accepted after the failover ($n)"

delivered() {
    cat "$T_DIR/sent.before" "$T_DIR/sent.after" | awk '$2 == 250 { print $1 }' | sort -u > "$T_DIR/acked"
    grep -h '^token ' "$T_DIR"/sink/*.eml 2> /dev/null | tr -d '\r' | awk '{ print $2 }' | sort -u > "$T_DIR/got"
    [ "$(comm -23 "$T_DIR/acked" "$T_DIR/got" | wc -l)" = 0 ]
}
wait_for 60 delivered; r=$?
[ $r = 0 ] || comm -23 "$T_DIR/acked" "$T_DIR/got" | head | diag
ok $r "every message that got 250, before and after the kill, reached the sink"
test "$SMTPD_PID" = "$smtpd_pid" && kill -0 "$smtpd_pid" && test "$ROUTER_PID" = "$router_pid" && kill -0 "$router_pid"
ok $? "smtpd and the router were never restarted"
"$SPOOLCTL" -c "$T_CONFIG" repl > "$T_DIR/repl.out" 2>&1; r=$?
[ $r = 0 ] && grep -q "^site $new.*: master" "$T_DIR/repl.out"; r=$?
[ $r = 0 ] || diag < "$T_DIR/repl.out"
ok $r "spoolctl repl over TCP names $new the master"
stop_router; stop_smtpd; repl_stop_all
