#!/bin/sh
# router-kept-stop.sh - a final outcome the store could not record (it went away during the delivery) survives a router stop: saved in <state_dir>/router/outcomes, recorded first at the next start, the message sent once; a file of kept outcomes that cannot be read is set aside, named in the log, and nothing is taken from it.
. "$(dirname "$0")/lib.sh"

plan 9
start_peer slow slow-dot
write_router_config "slow.test smtp:[127.0.0.1]:$slow_PORT" "retry_first = 1s
retry_max = 1s"
start_store && start_router; ok $? "store and router start"
KEPT=$T_DIR/router/outcomes

Q=$(printf 'Subject: kept\n\nkept\n' | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test sam@slow.test | awk '{print $NF}')
wait_for 10 sh -c "ls '$T_DIR'/slow/*.json 2>/dev/null | grep -q ."
stop_store # the peer has it and answers the dot 3 s later: the outcome cannot be recorded
wait_for 10 grep -q "$Q: to=<sam@slow.test>.*status=sent" "$T_ROUTER_LOG"
r=$?; stop_router
grep -q "1 recipient outcome(s) never reached the store: saved in $KEPT" "$T_ROUTER_LOG" && test -s "$KEPT"
ok $(( r + $? )) "the router stops with the outcome unrecorded and saves it in router/outcomes"

start_store && start_router; ok $? "store and router start again"
wait_for 10 grep -q "1 recipient outcome(s) kept while the store was away are recorded now" "$T_ROUTER_LOG"
r=$?
grep -q "1 recipient outcome(s) the store had not recorded at the last stop, from $KEPT" "$T_ROUTER_LOG"
ok $(( r + $? )) "the next start reads it and records it once the store is there"
wait_for 10 sh -c "[ \"\$($SPOOLCTL -s $T_SOCKET list | tail -1 | cut -d' ' -f1)\" = 0 ]"
ok $? "the message is done in the store"
sleep 2; test "$(ls "$T_DIR"/slow/*.json | wc -l)" = 1; ok $? "it was sent once, not again ($(ls "$T_DIR"/slow/*.json | wc -l))"
test ! -e "$KEPT"; ok $? "the file is gone once recorded"

# A file that is not what the router wrote: set aside, the router runs on.
stop_router
printf 'spoolgate-router kept outcomes 1\n\000\000\000\100\000\036junk' > "$KEPT"
start_router
wait_for 10 grep -q "kept outcomes $KEPT: .*moved to $KEPT.bad, nothing taken from it" "$T_ROUTER_LOG" && test -e "$KEPT.bad" && test ! -e "$KEPT"
ok $? "a truncated file is set aside, named in the log"
stop_router; printf 'an editor was here\n' > "$KEPT"; start_router
wait_for 10 grep -q "kept outcomes $KEPT: not a file of kept outcomes (its first line is wrong); moved to" "$T_ROUTER_LOG" && sleep 1 && kill -0 "$ROUTER_PID"
ok $? "so is a file that is not one of kept outcomes, and the router runs all the same"
