#!/bin/sh
# store-reserve.sh - submit-only clients get at most store.max_clients - store.reserved_clients connections: the rest stays for spoolctl and the router.
. "$(dirname "$0")/lib.sh"
HOLD="python3 $top_srcdir/tests/integration/ipc_hold.py"

plan 12
write_config "max_clients = 20
reserved_clients = 5
"
start_store; ok $? "spoolgate-store starts (max_clients 20, reserved_clients 5)"
$HOLD "$T_SOCKET" submit 30 "$T_DIR/release" > "$T_DIR/hold.out" 2>&1 &
T_BG_PIDS="$T_BG_PIDS $!"
wait_for 20 grep -q '^held' "$T_DIR/hold.out"
grep -q '^held 15 refused 15$' "$T_DIR/hold.out"; ok $? "30 submit-only clients: 15 served, 15 refused ($(head -1 "$T_DIR/hold.out"))"
grep -q 'too many submission clients' "$T_DIR/hold.out"; ok $? "the refusal says why"
diag < "$T_DIR/hold.out"
"$SPOOLCTL" -s "$T_SOCKET" list > "$T_DIR/list.out" 2>&1; ok $? "spoolctl list works with the submitters' share taken"
"$SPOOLCTL" -s "$T_SOCKET" stats > "$T_DIR/stats.out" 2>&1; ok $? "spoolctl stats works"
python3 "$top_srcdir/tests/integration/ipc_caps_probe.py" "$T_SOCKET" "read,update,list,due,events,submit" > "$T_DIR/router.out" 2>&1
grep -q '^HELLO-OK' "$T_DIR/router.out"; ok $? "a client with the router's capabilities is served ($(cat "$T_DIR/router.out"))"
printf 'Subject: x\n\nhi\n' | "$SENDMAIL" -s "$T_SOCKET" -f a@sender.test b@local.test > "$T_DIR/sendmail.out" 2>&1
grep -q 'too many submission clients' "$T_DIR/sendmail.out"; ok $? "spoolgate-sendmail, a submitter too, is refused with the reason ($(head -1 "$T_DIR/sendmail.out"))"
touch "$T_DIR/release"
wait_for 10 sh -c "printf 'Subject: x\n\nhi\n' | '$SENDMAIL' -s '$T_SOCKET' -f a@sender.test b@local.test"
ok $? "once the submitters went, spoolgate-sendmail submits"
test "$(store_count)" = 1; ok $? "and exactly that message is stored"

# --check-config says when smtpd's pool would not fit the store's share for submitters.
printf '[store]\nmax_clients = 20\nreserved_clients = 5\n[smtpd]\nmax_store_connections = 14\n' > "$T_DIR/tight.ini"
"$STORE_BIN" -c "$T_DIR/tight.ini" --check-config > "$T_DIR/check.out" 2>&1
grep -q 'warning: smtpd.max_store_connections (14) .*store.max_clients (20) less store.reserved_clients (5)' "$T_DIR/check.out"
ok $? "--check-config warns when smtpd.max_store_connections does not fit below max_clients - reserved_clients"
printf '[store]\nmax_clients = 20\nreserved_clients = 5\n[smtpd]\nmax_store_connections = 13\n' > "$T_DIR/fits.ini"
"$SMTPD_BIN" -c "$T_DIR/fits.ini" --check-config > "$T_DIR/check2.out" 2>&1 && ! grep -q warning "$T_DIR/check2.out"
ok $? "and not when it fits"
"$STORE_BIN" -c /dev/null --check-config 2>&1 | grep -q warning; test $? = 1
ok $? "the defaults fit"
