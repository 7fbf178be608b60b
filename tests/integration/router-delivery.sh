#!/bin/sh
# router-delivery.sh - delivery, greylisting, permanent failure, errors, give-up and delay warnings: every outcome and every DSN with its reason.
. "$(dirname "$0")/lib.sh"

plan 28
start_peer sink sink; start_peer grey greylist; start_peer rej reject; start_peer temp tempfail
start_peer drop drop-after-data
DEAD_PORT=$(free_port)
write_router_config "local.test     smtp:[127.0.0.1]:$sink_PORT
sender.test    smtp:[127.0.0.1]:$sink_PORT
grey.test      smtp:[127.0.0.1]:$grey_PORT
reject.test    smtp:[127.0.0.1]:$rej_PORT
temp.test      smtp:[127.0.0.1]:$temp_PORT
drop.test      smtp:[127.0.0.1]:$drop_PORT
dead.test      smtp:[127.0.0.1]:$DEAD_PORT
gone.test      error:5.1.2 gone.test closed its mail service in 2019" "retry_first = 1s
retry_max = 2s
delay_warning = 4s
max_queue_lifetime = 9s"
start_mail_path "spoolgate-router starts and re-categorizes the queue"

# 1. plain delivery, body intact
printf 'Subject: plain\n\nline one\n.leading dot\nlast line\n' > "$T_DIR/plain.txt"
Q=$(send_mail alice@sender.test bob@local.test < "$T_DIR/plain.txt")
wait_for 10 sh -c "ls '$T_DIR/sink'/*.json 2>/dev/null | head -1 | grep -q ."; ok $? "a message to local.test is delivered to its peer"
F=$(grep -l '"bob@local.test"' "$T_DIR/sink"/*.json | head -1); E=${F%.json}.eml
python3 - "$E" "$T_DIR/plain.txt" <<'PY'
import sys
got = open(sys.argv[1], "rb").read()
want = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")
head, _, rest = got.partition(b"\r\n\r\n")
sys.exit(0 if got.endswith(want.split(b"\r\n\r\n", 1)[1]) and b"Received: from test.client" in head else 1)
PY
ok $? "the body arrives byte-identical, dots and all, below our Received header"
wait_for 5 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list --match $Q | tail -1 | cut -d' ' -f1) = 0 ]"
ok $? "a delivered message leaves the store"

# 2. greylisting: deferred with its reason, visible, then delivered on schedule
Q=$(send_mail alice@sender.test carol@grey.test < "$T_DIR/plain.txt")
queue_shows 5 "$Q" "deferred.*451 4.7.1"
ok $? "greylisted: deferred, and spoolctl list shows the 451 4.7.1 reason"
wait_for 10 sh -c "ls '$T_DIR/grey'/*.json 2>/dev/null | grep -q ."; ok $? "retried on schedule and delivered"
test "$(cat "$T_DIR"/grey/*.json | grep -c '"carol@grey.test"')" = 1
ok $? "exactly one copy arrived"

# 3. permanent failure: one DSN with the remote reply
Q=$(send_mail alice@sender.test nobody@reject.test < "$T_DIR/plain.txt")
wait_for 10 sh -c "$DSN_CHECK '$T_DIR/sink' --sender alice@sender.test --rcpt nobody@reject.test --action failed | grep -q '^ok'"
$DSN_CHECK "$T_DIR/sink" --sender alice@sender.test --rcpt nobody@reject.test --action failed \
    --status-class 5 --reason-contains "User unknown" --reason-contains "550 5.1.1" > "$T_DIR/dsn1.tap"
! grep -q '^not ok' "$T_DIR/dsn1.tap"; ok $? "5xx: one failure DSN naming the remote reply ($(grep -c '^ok' "$T_DIR/dsn1.tap") checks)"
grep '^not ok' -A5 "$T_DIR/dsn1.tap" | diag

# 4. our own permanent error route
# smtpd refuses error: routes at RCPT; mail injected locally still meets the route in the router.
"$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test someone@gone.test < "$T_DIR/plain.txt" > /dev/null
wait_for 10 sh -c "$DSN_CHECK '$T_DIR/sink' --sender alice@sender.test --rcpt someone@gone.test --action failed | grep -q '^ok'"
$DSN_CHECK "$T_DIR/sink" --sender alice@sender.test --rcpt someone@gone.test --action failed \
    --reason-contains "closed its mail service" > "$T_DIR/dsn2.tap"
! grep -q '^not ok' "$T_DIR/dsn2.tap"; ok $? "error: route: a DSN with the configured reason"
grep '^not ok' -A5 "$T_DIR/dsn2.tap" | diag

# 5. null sender and NOTIFY=NEVER: failures without DSNs
before=$(ls "$T_DIR/sink"/*.json | wc -l)
Q1=$(send_mail "" nobody@reject.test < "$T_DIR/plain.txt")
Q2=$(send_mail alice@sender.test NOTIFY=NEVER nobody2@reject.test < "$T_DIR/plain.txt")
wait_for 10 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list --match $Q1 | tail -1 | cut -d' ' -f1) = 0 ] && [ \$($SPOOLCTL -s $T_SOCKET list --match $Q2 | tail -1 | cut -d' ' -f1) = 0 ]"
ok $? "failed messages from <> and with NOTIFY=NEVER are done"
sleep 1
test "$(ls "$T_DIR/sink"/*.json | wc -l)" = "$before"; ok $? "and neither produced a DSN"
grep -q "$Q1: no failure DSN: null sender" "$T_ROUTER_LOG"; ok $? "the router logs why no DSN went out"

# 6. a peer that drops the connection after 250 to the dot: delivered exactly once
Q=$(send_mail alice@sender.test dan@drop.test < "$T_DIR/plain.txt")
wait_for 10 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list --match $Q | tail -1 | cut -d' ' -f1) = 0 ]"
ok $? "dropped after 250: the message is recorded delivered and leaves the store"
sleep 3
test "$(ls "$T_DIR/drop"/*.json | wc -l)" = 1; ok $? "and the peer got it exactly once"

# 7. connection refused until give-up, and 8. delay warning then give-up, both with DSNs
send_mail alice@sender.test erin@dead.test < "$T_DIR/plain.txt" > /dev/null
send_mail alice@sender.test frank@temp.test < "$T_DIR/plain.txt" > /dev/null
queue_shows 10 "erin@dead.test" "deferred.*refused"
ok $? "connection refused: deferred with the reason"
wait_for 10 sh -c "$DSN_CHECK '$T_DIR/sink' --sender alice@sender.test --rcpt frank@temp.test --action delayed | grep -q '^ok'"
$DSN_CHECK "$T_DIR/sink" --sender alice@sender.test --rcpt frank@temp.test --action delayed \
    --reason-contains "451 4.3.2" > "$T_DIR/dsn3.tap"
! grep -q '^not ok' "$T_DIR/dsn3.tap"; ok $? "after delay_warning: one delay DSN with the remote reply"
grep '^not ok' -A5 "$T_DIR/dsn3.tap" | diag
wait_for 20 sh -c "$DSN_CHECK '$T_DIR/sink' --sender alice@sender.test --rcpt erin@dead.test --action failed | grep -q '^ok'"
$DSN_CHECK "$T_DIR/sink" --sender alice@sender.test --rcpt erin@dead.test --action failed \
    --status-class 4 --reason-contains "refused" --reason-contains "gave up after" > "$T_DIR/dsn4.tap"
! grep -q '^not ok' "$T_DIR/dsn4.tap"; ok $? "refused until max_queue_lifetime: a failure DSN naming the refusal and the give-up"
grep '^not ok' -A5 "$T_DIR/dsn4.tap" | diag
wait_for 20 sh -c "$DSN_CHECK '$T_DIR/sink' --sender alice@sender.test --rcpt frank@temp.test --action failed | grep -q '^ok'"
ok $? "the tempfailing recipient fails at the limit too"
$DSN_CHECK "$T_DIR/sink" --sender alice@sender.test --rcpt frank@temp.test --action delayed > "$T_DIR/dsn5.tap"
! grep -q '^not ok' "$T_DIR/dsn5.tap"; ok $? "exactly one delay DSN was sent for it, however many retries"
grep -q "erin@dead.test" "$T_ROUTER_LOG" || true

# 9. a DSN that fails itself is not bounced: it is held for the administrator
Q=$(send_mail lost@reject.test nobody3@reject.test < "$T_DIR/plain.txt")
wait_for 15 sh -c "$SPOOLCTL -s $T_SOCKET list --state held | grep -q 'lost@reject.test'"
ok $? "the DSN to a sender that rejects it is held, not bounced"
"$SPOOLCTL" -s "$T_SOCKET" list --state held | grep -A1 "from=<>" | grep -q "550 5.1.1"
ok $? "the held DSN keeps the remote reply as its reason"
grep -q "undeliverable DSN to <lost@reject.test> held for the administrator" "$T_ROUTER_LOG"
ok $? "and the router logs it"
HELD=$("$SPOOLCTL" -s "$T_SOCKET" list --state held | grep -c "from=<>")
"$SPOOLCTL" -s "$T_SOCKET" list --state held | grep "from=<>" | cut -d' ' -f1 | while read -r q; do "$SPOOLCTL" -s "$T_SOCKET" delete "$q" > /dev/null; done
diag <<EOF2
held DSNs removed by the administrator: $HELD
EOF2

# 10. every DSN in the sink names a specific reason; DSNs are not bounced
python3 - "$T_DIR/sink" <<'PY'
import email, email.policy, glob, json, sys
bad = []
for j in glob.glob(sys.argv[1] + "/*.json"):
    meta = json.load(open(j))
    if meta["mail_from"] != "":
        continue
    msg = email.message_from_bytes(open(j[:-5] + ".eml", "rb").read(), policy=email.policy.compat32)
    text = msg.as_string()
    if "X-Spoolgate-Reason:" not in text or "#5.0.0" in text:
        bad.append(j)
print(len(bad))
sys.exit(1 if bad else 0)
PY
ok $? "no DSN without a specific reason"
test "$(store_count)" = 0; ok $? "nothing is left in the store"
kill -0 "$ROUTER_PID"; ok $? "the router is still running"
kill -0 "$SMTPD_PID"; ok $? "smtpd is still running"
echo "$(grep -c "status=sent" "$T_ROUTER_LOG") recipients status=sent in the router's log" | diag
