#!/bin/sh
# router-mx.sh - MX routing through a dnsmasq on loopback: preference order, fallback, implicit MX, null MX, NXDOMAIN.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/integration/dns_peer.sh"

plan 11
DNS_PORT=$(free_port)
start_dns "$DNS_PORT" --mx-host=mx.test,mx1.mx.test,10 --mx-host=mx.test,mx2.mx.test,20 \
    --host-record=mx1.mx.test,127.0.0.2 --host-record=mx2.mx.test,127.0.0.3 \
    --dns-rr=nullmx.test,15,000000 --host-record=implicit.test,127.0.0.4 \
    --mx-host=sender.test,mx2.mx.test,10
ok $? "dnsmasq answers on 127.0.0.1:$DNS_PORT"
# Every peer must listen before the first message, or it goes to the next MX and says nothing.
start_peers_on_one_port mx1:sink:127.0.0.2 mx2:sink:127.0.0.3 imp:sink:127.0.0.4 ||
    bail "a peer did not start"
write_router_config "" "dns_servers = 127.0.0.1:$DNS_PORT
smtp_port = $P
tls_policy = none
retry_first = 1s
retry_max = 1s"
start_store && start_smtpd && start_router; ok $? "store, smtpd and router start"
printf 'Subject: mx\n\nvia MX\n' > "$T_DIR/msg.txt"

send_mail alice@sender.test a@mx.test < "$T_DIR/msg.txt" > /dev/null
wait_for 10 sh -c "ls '$T_DIR/mx1'/*.json 2>/dev/null | grep -q ."; r=$?
[ $r -eq 0 ] || { grep -v ' debug: ' "$T_ROUTER_LOG" | tail -20; cat "$T_DIR/mx1.out"; } | diag
ok $r "delivered to the lowest preference MX (mx1)"
test -z "$(ls "$T_DIR/mx2"/*.json 2>/dev/null)"; ok $? "and not to mx2"

stop_peer mx1
send_mail alice@sender.test b@mx.test < "$T_DIR/msg.txt" > /dev/null
peer_got mx2 b@mx.test; ok $? "mx1 refuses: falls back to mx2"

send_mail alice@sender.test c@implicit.test < "$T_DIR/msg.txt" > /dev/null
wait_for 10 sh -c "ls '$T_DIR/imp'/*.json 2>/dev/null | grep -q ."; ok $? "no MX: the domain's own address (implicit MX)"

send_mail alice@sender.test d@nullmx.test < "$T_DIR/msg.txt" > /dev/null
wait_for 10 sh -c "$DSN_CHECK '$T_DIR/mx2' --sender alice@sender.test --rcpt d@nullmx.test --action failed | grep -q '^ok'"
$DSN_CHECK "$T_DIR/mx2" --sender alice@sender.test --rcpt d@nullmx.test --action failed \
    --reason-contains "null MX" > "$T_DIR/dsn1.tap"
! grep -q '^not ok' "$T_DIR/dsn1.tap"; ok $? "null MX: failed at once with a DSN that says so (5.1.10)"
grep -q "Status: 5.1.10" "$T_DIR"/mx2/*.eml; ok $? "the DSN carries status 5.1.10"

send_mail alice@sender.test e@nonexistent.test < "$T_DIR/msg.txt" > /dev/null
wait_for 10 sh -c "$DSN_CHECK '$T_DIR/mx2' --sender alice@sender.test --rcpt e@nonexistent.test --action failed | grep -q '^ok'"
$DSN_CHECK "$T_DIR/mx2" --sender alice@sender.test --rcpt e@nonexistent.test --action failed \
    --reason-contains "NXDOMAIN" > "$T_DIR/dsn2.tap"
! grep -q '^not ok' "$T_DIR/dsn2.tap"; ok $? "NXDOMAIN: failed with a DSN naming it"
test "$(store_count)" = 0; ok $? "nothing is left in the store"
kill -0 "$ROUTER_PID"; ok $? "the router is still running"
stop_dns
