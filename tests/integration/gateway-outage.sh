#!/bin/sh
# gateway-outage.sh - a missing share counts as a failed attempt: visible, retried, and at the limit a DSN naming the share; back in time, no DSN; a crash between claim and delete makes no second copy.
. "$(dirname "$0")/lib.sh"

plan 14
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH --mailbox ADOE > /dev/null
start_peer sink sink
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT" "[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 5"
start_store && start_smtpd && start_router && start_gateway; ok $? "store, smtpd, router and gateway start"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
printf 'Subject: during the outage\n\nhello\n' > "$T_DIR/msg.txt"

# The share goes away: every access fails and counts.
mv "$T_SHARE" "$T_SHARE.away"
Q=$(send_mail alice@sender.test "jsmith@$T_PO_DOMAIN" < "$T_DIR/msg.txt")
queue_shows 10 "$Q" "deferred.*attempts=2.*share $T_SHARE"
ok $? "share missing: deferred, attempts counted, the share and the error in the reason"
"$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | grep -q "No such file or directory"; ok $? "the reason names the error"
wait_for 20 sh -c "$DSN_CHECK '$T_DIR/sink' --sender alice@sender.test --rcpt jsmith@$T_PO_DOMAIN --action failed | grep -q '^ok'"
$DSN_CHECK "$T_DIR/sink" --sender alice@sender.test --rcpt "jsmith@$T_PO_DOMAIN" --action failed --status-class 4 \
    --reason-contains "$T_SHARE" --reason-contains "No such file" --reason-contains "5 failed accesses" > "$T_DIR/dsn.tap"
! grep -q '^not ok' "$T_DIR/dsn.tap"; ok $? "at max_open_retries: a DSN naming the share, the error and the count"
grep '^not ok' -A4 "$T_DIR/dsn.tap" | diag
grep -q "postoffice share unreachable" "$T_GATEWAY_LOG"; ok $? "the gateway logs the share outage"

# Back before the limit: delivered, no DSN.
Q=$(send_mail alice@sender.test "adoe@$T_PO_DOMAIN" < "$T_DIR/msg.txt")
queue_shows 10 "$Q" "attempts=2"
mv "$T_SHARE.away" "$T_SHARE"
wait_for 10 sh -c "ls '$T_SHARE'/P1/*.P1 2>/dev/null | grep -q ."; ok $? "the share is back: the waiting message flows"
wait_for 10 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list --match $Q | tail -1 | cut -d' ' -f1) = 0 ]"; ok $? "and is recorded delivered"
sleep 2
test "$(python3 -c "import json,glob; print(sum(1 for f in glob.glob('$T_DIR/sink/*.json') if 'adoe@$T_PO_DOMAIN' in open(f[:-5]+'.eml', errors='replace').read()))")" = 0
ok $? "no DSN for it"

# A crash between claim and delete: the claimed file is taken up again, once.
stop_gateway
F=$($PO_SIM send "$T_SHARE" --from JSMITH --to SMTP:dave@sender.test --body "claimed before a crash" --domain "$T_PO_DOMAIN")
N=${F%.P1}
cp "$T_SHARE/OUT/$F" "$T_DIR/saved.P1"
mv "$T_SHARE/OUT/$F" "$T_SHARE/OUT/$N.GWK"
start_gateway; ok $? "the gateway restarts with a claimed file left in OUT/"
peer_got sink dave@sender.test; ok $? "the claimed file is delivered"
stop_gateway
cp "$T_DIR/saved.P1" "$T_SHARE/OUT/$N.GWK"   # as if the crash came after the commit, before the delete
start_gateway
wait_for 10 grep -q "picked up before: no second copy" "$T_GATEWAY_LOG"; sleep 2
test "$(cat "$T_DIR"/sink/*.json | grep -c dave@sender.test)" = 1 && test ! -e "$T_SHARE/OUT/$N.GWK"
ok $? "taken up again after the commit: no second copy, and the file is deleted"

# A real kill -9 between claim and delete: with the store down the gateway claims the file
# and cannot submit it; it is killed right there, then everything comes back.
stop_store
$PO_SIM send "$T_SHARE" --from ADOE --to SMTP:erin@sender.test --body "claimed, then kill -9" --domain "$T_PO_DOMAIN" > /dev/null
wait_for 10 sh -c "ls '$T_SHARE'/OUT/ | grep -q 'GWK$'"; ok $? "store down: the gateway has claimed the file (.GWK)"
kill -9 "$GATEWAY_PID"; wait "$GATEWAY_PID" 2>/dev/null
start_store && start_gateway; ok $? "kill -9 the gateway, then the store and the gateway start again"
wait_for 15 sh -c "cat '$T_DIR'/sink/*.json 2>/dev/null | grep -q erin@sender.test"; sleep 2
test "$(cat "$T_DIR"/sink/*.json | grep -c erin@sender.test)" = 1 && test -z "$(ls "$T_SHARE"/OUT/ | grep -E 'GWK$|P1$')"
ok $? "delivered exactly once, and the claimed file is gone"
