#!/bin/sh
# stuck-bounce.sh - an undeliverable bounce is held with its reason, the postmaster told once by a notice from <>, and removed after bounce_queue_lifetime; null-sender failures are recorded and removed without a DSN.
. "$(dirname "$0")/lib.sh"

plan 27
start_peer sink sink; start_peer rej reject; start_peer pm sink
ROUTES="local.test     smtp:[127.0.0.1]:$sink_PORT
reject.test    smtp:[127.0.0.1]:$rej_PORT
$T_HOSTNAME smtp:[127.0.0.1]:$pm_PORT"
write_router_config "$ROUTES" "retry_first = 1s
retry_max = 2s
bounce_queue_lifetime = 8s"
start_mail_path
printf 'Subject: stuck\n\nbody\n' > "$T_DIR/msg.txt"
held() { "$SPOOLCTL" -s "$T_SOCKET" list --state held; }
gone() { [ "$("$SPOOLCTL" -s "$T_SOCKET" list --match "$1" | tail -1 | cut -d' ' -f1)" = 0 ]; }

# 1. a bounce to a sender whose domain refuses it with 5xx
Q=$(send_mail lost@reject.test nobody@reject.test < "$T_DIR/msg.txt")
wait_for 10 grep -q "$Q: sender non-delivery notification: " "$T_ROUTER_LOG"
DQ=$(sed -n "s/.*$Q: sender non-delivery notification: \([^ ]*\).*/\1/p" "$T_ROUTER_LOG" | head -1)
test -n "$DQ"; ok $? "the failure of $Q is bounced as $DQ"
wait_for 10 gone "$Q"; ok $? "the original's permanent failure is recorded: it leaves the store"
wait_for 10 sh -c "$SPOOLCTL -s $T_SOCKET list --state held | grep -q 'lost@reject.test'"
ok $? "the bounce to a sender that refuses it is held"
held | grep -A1 "^$DQ " | grep -q "held *attempts=1.*reply=undeliverable DSN, held until [0-9T:Z-]*, then removed: 550 5.1.1"
ok $? "spoolctl list shows why it is held, until when, and the remote reply"
held | grep -A1 "^$DQ " | diag
wait_for 10 sh -c "ls '$T_DIR/pm'/*.json 2>/dev/null | grep -q ."
ok $? "a notice reaches the postmaster (postmaster@<hostname> by default)"
N=$(ls "$T_DIR/pm"/*.json | head -1); E=${N%.json}.eml
python3 - "$N" "$T_HOSTNAME" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if m["mail_from"] == "" and m["rcpt_tos"] == ["postmaster@" + sys.argv[2]] else 1)
PY
ok $? "from the null sender to the postmaster"
grep -q "^Notification: *$DQ" "$E" && grep -q "^To (the sender): *<lost@reject.test>" "$E" &&
    grep -q "^Original message: $Q" "$E" && grep -q "^Reason: .*550 5.1.1" "$E"
ok $? "the notice names the held bounce, the sender, the original queue id and the reason"
grep -q "^Auto-Submitted: auto-generated" "$E"; ok $? "the notice is marked auto-generated"
grep -q "$DQ: postmaster <postmaster@$T_HOSTNAME> told of the undeliverable DSN" "$T_ROUTER_LOG"
ok $? "the router logs the notice"

# 2. after bounce_queue_lifetime the held bounce is removed, with a log line
wait_for 15 gone "$DQ"; ok $? "after bounce_queue_lifetime the held bounce leaves the store"
grep -q "$DQ: removed (undeliverable bounce expired after 0m 8s)" "$T_ROUTER_LOG"
ok $? "the router logs its removal and why"
grep -q "$DQ: to=<lost@reject.test>, .*dsn=5.4.7, status=expired (undeliverable bounce expired" "$T_ROUTER_LOG" &&
    grep -q "$DQ: removed$" "$T_STORE_LOG"
ok $? "the router logs it expired with the reason, the store its removal"
test "$(ls "$T_DIR/pm"/*.json | wc -l)" = 1; ok $? "the postmaster was told exactly once"

# 3. a notice that cannot be delivered itself is recorded failed: not bounced, not held, no loop
stop_router
sed -i 's/^bounce_queue_lifetime = 8s$/&\npostmaster = pm@reject.test/' "$T_CONFIG"
start_router
Q3=$(send_mail lost2@reject.test nobody3@reject.test < "$T_DIR/msg.txt")
wait_for 10 grep -q "$Q3: sender non-delivery notification: " "$T_ROUTER_LOG"
DQ3=$(sed -n "s/.*$Q3: sender non-delivery notification: \([^ ]*\).*/\1/p" "$T_ROUTER_LOG" | head -1)
wait_for 10 grep -q "$DQ3: postmaster <pm@reject.test> told of the undeliverable DSN: notice queued as" "$T_ROUTER_LOG"
NQ=$(sed -n "s/.*$DQ3: postmaster <pm@reject.test> told .*notice queued as \([^ ]*\).*/\1/p" "$T_ROUTER_LOG" | head -1)
test -n "$NQ" && wait_for 10 grep -q "$NQ: no failure DSN: null sender" "$T_ROUTER_LOG"
ok $? "the configured postmaster is told; its notice, refused, gets no DSN"
grep -q "$NQ: to=<pm@reject.test>, .*status=bounced (550 5.1.1" "$T_ROUTER_LOG" && wait_for 5 gone "$NQ"
ok $? "the failed notice is recorded failed and removed"
! grep -q "$NQ: undeliverable DSN\|$NQ: postmaster" "$T_ROUTER_LOG"; ok $? "and it is neither held nor reported: no loop"

# 4. null senders: failures are recorded and removed, no DSN is tried
Q1=$(send_mail "" nobody1@reject.test < "$T_DIR/msg.txt")
# "<>" as the sender of a submission (sendmail -f '<>') is the null sender, not an address "<>"
Q2=$(python3 "$top_srcdir/tests/integration/ipc_submit.py" "$T_DIR/run/submit.sock" --sender '<>' --rcpt nobody2@reject.test | sed -n 's/^SUBMITTED //p')
wait_for 10 gone "$Q1"; ok $? "a null-sender message that fails is removed"
grep -q "$Q1: to=<nobody1@reject.test>, .*status=bounced (550 5.1.1" "$T_ROUTER_LOG"; ok $? "its failure is recorded with the remote reply"
grep -q "$Q1: no failure DSN: null sender" "$T_ROUTER_LOG"; ok $? "no DSN to <>: the router says why"
test -n "$Q2" && wait_for 10 gone nobody2@reject.test && grep -q "$Q2: no failure DSN: null sender" "$T_ROUTER_LOG"
ok $? "a submission from '<>' is taken as the null sender: it fails, is removed, no DSN"
grep "\"nobody2@reject.test\"" "$T_DIR/rej/attempts.log" | grep -q '"mail_from": ""'
ok $? "and it went out from the null sender, not <<>>"
sleep 2
! grep -q "DSN to <>\|DSN to <<>>" "$T_ROUTER_LOG"; ok $? "no DSN to the null sender was ever tried"
test "$(cat "$T_DIR"/*/attempts.log | grep -c '"mail_from": ""')" -le 6
ok $? "nothing went out from <> beyond two bounces, two notices and the two messages (no loop)"
wait_for 15 gone "$DQ3"; test "$(store_count)" = 0; ok $? "nothing is left in the store"
