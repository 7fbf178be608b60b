#!/bin/sh
# store-events.sh - the store's event subscriptions: with SUBSCRIBE_MESSAGES each COMMITTED brings its message (no READ_ENVELOPE); the router subscribes so; a plain SUBSCRIBE gets the event alone.
. "$(dirname "$0")/lib.sh"
SUB="python3 $top_srcdir/tests/integration/ipc_subscribe.py"

plan 11
write_config
start_store; ok $? "spoolgate-store starts"
$SUB "$T_SOCKET" messages from@a.test one@b.test two@c.test > "$T_DIR/messages.out" 2>&1
cat "$T_DIR/messages.out" | sed 's/^/# /'
qid=$(awk '$1 == "EVENT" { print $3; exit }' "$T_DIR/messages.out")
[ "$(sed -n 1p "$T_DIR/messages.out")" = "EVENT 1 $qid" ] && [ -n "$qid" ]
ok $? "a COMMITTED event comes first"
[ "$(sed -n 2p "$T_DIR/messages.out")" = "ENVELOPE $qid from@a.test 2" ]
ok $? "then the message's envelope: its queue id, sender and recipient count"
[ "$(sed -n 3p "$T_DIR/messages.out")" = "RCPT $qid 0 one@b.test 0" ] &&
    [ "$(sed -n 4p "$T_DIR/messages.out")" = "RCPT $qid 1 two@c.test 0" ]
ok $? "then each recipient in order, queued"
[ "$(sed -n 5,6p "$T_DIR/messages.out" | tr '\n' ' ')" = "END 2 NEXT EVENT " ]
ok $? "then END with the count, and nothing more until the next event"
$SUB "$T_SOCKET" events from@a.test one@b.test > "$T_DIR/events.out" 2>&1
[ "$(awk '{ print $1 }' "$T_DIR/events.out" | tr '\n' ' ')" = "EVENT NEXT " ]
ok $? "a plain SUBSCRIBE gets the events alone"
out=$(python3 "$top_srcdir/tests/integration/ipc_caps_probe.py" "$T_DIR/run/submit.sock" submit 62)
case "$out" in "REFUSED 7 SUBSCRIBE_MESSAGES needs capability"*) r=0;; *) r=1;; esac
ok $r "SUBSCRIBE_MESSAGES is refused on the submission socket ($out)"
start_router; ok $? "spoolgate-router starts"
wait_for_log "subscribed to events with new messages"; ok $? "the router subscribes with new messages"
# A tool's connection for one command is logged at debug, a daemon's link at info (issue 18).
"$SPOOLCTL" -s "$T_SOCKET" stats > /dev/null && "$SPOOLCTL" -s "$T_SOCKET" stats > /dev/null
! grep -q "spoolctl/admin: connected" "$T_STORE_LOG"; ok $? "spoolctl's connections are not logged at info"
grep -q "spoolgate-router/router: connected" "$T_STORE_LOG"; ok $? "the router's links are"
