#!/bin/sh
# router-restart.sh - the store restarts under a waiting message; the transport map changes and the router restarts: mail moves without anything else restarted.
. "$(dirname "$0")/lib.sh"

plan 15
start_peer grey greylist; start_peer old sink; start_peer new sink
write_router_config "grey.test smtp:[127.0.0.1]:$grey_PORT
moved.test smtp:[127.0.0.1]:$old_PORT
sender.test smtp:[127.0.0.1]:$old_PORT" "retry_first = 3s
retry_max = 3s"
start_mail_path
printf 'Subject: waiting\n\nplease wait\n' > "$T_DIR/msg.txt"

# Greylisted, then the store restarts while the message waits for its retry.
Q=$(send_mail alice@sender.test carol@grey.test < "$T_DIR/msg.txt")
queue_shows 5 "$Q" "deferred.*451 4.7.1"
ok $? "greylisted: deferred with its reason"
GEN1=$("$SPOOLCTL" -s "$T_SOCKET" generation)
stop_store
start_store; ok $? "the store restarts (the router and smtpd keep running)"
GEN2=$("$SPOOLCTL" -s "$T_SOCKET" generation)
test "$GEN2" != "$GEN1"; ok $? "a new store generation ($GEN1 -> $GEN2)"
"$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | grep -q "deferred"; ok $? "the waiting message is still listed, deferred"
wait_for 15 sh -c "ls '$T_DIR/grey'/*.json 2>/dev/null | grep -q ."; ok $? "the router reconnects and delivers it on schedule"
sleep 2
test "$(cat "$T_DIR"/grey/*.json | grep -c '"carol@grey.test"')" = 1; ok $? "exactly one copy"
grep -q "mail store ready.*generation $GEN2" "$T_ROUTER_LOG"; ok $? "the router logged the new generation"

# Re-categorization: a message waits for a dead next hop; the map changes; the router restarts.
stop_peer old
send_mail alice@sender.test dora@moved.test < "$T_DIR/msg.txt" > /dev/null
queue_shows 5 "dora@moved.test" "deferred.*refused"
ok $? "moved.test's old next hop is down: deferred"
sed -i "s/^moved.test .*/moved.test smtp:[127.0.0.1]:$new_PORT/" "$T_TRANSPORT"
stop_router; start_router
wait_for 10 sh -c "ls '$T_DIR/new'/*.json 2>/dev/null | grep -q ."
ok $? "after the router restart the queued message takes the new route at once"

# Requeue on demand: a message waiting for a long retry moves at once.
stop_peer new
sed -i "s/^retry_first = 3s/retry_first = 1h/; s/^retry_max = 3s/retry_max = 1h/" "$T_CONFIG"
stop_router; start_router
send_mail alice@sender.test rita@moved.test < "$T_DIR/msg.txt" > /dev/null
queue_shows 5 "rita@moved.test" "deferred.*refused"
ok $? "next hop down: deferred for an hour"
start_peer new sink 127.0.0.1 "$new_PORT"
"$SPOOLCTL" -s "$T_SOCKET" requeue ALL > /dev/null; ok $? "spoolctl requeue ALL"
peer_got new rita@moved.test
ok $? "requeued mail is re-categorized and delivered at once, without a restart"
