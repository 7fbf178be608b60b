#!/bin/sh
# store-origin.sh - de-duplication keys (origin.db) expire after store.origin_lifetime instead of growing for ever, and are kept until then, across a restart (issue 19 audit).
. "$(dirname "$0")/lib.sh"

plan 6
SUBMIT="python3 $top_srcdir/tests/integration/ipc_submit.py"
submit() { $SUBMIT "$T_SOCKET" --sender s@src.test --rcpt r@dst.test --origin "$1" | sed -n 's/^SUBMITTED //p'; }
write_config "origin_lifetime = 3s"
start_store || bail "the store does not start"
Q1=$(submit p1:0000000A:key-one)
Q1b=$(submit p1:0000000A:key-one)
test -n "$Q1" && [ "$Q1" = "$Q1b" ]; ok $? "the same key twice within its lifetime: one message ($Q1)"
wait_for 15 grep -q "de-duplication keys: 1 expired (older than 3s)" "$T_STORE_LOG"
ok $? "after origin_lifetime the key expires, with one log line"
Q2=$(submit p1:0000000A:key-one)
test -n "$Q2" && [ "$Q2" != "$Q1" ]; ok $? "the key is gone: the same key again is a new message ($Q2)"
stop_store
sed -i 's/^origin_lifetime = 3s$/origin_lifetime = 10d/' "$T_CONFIG"
start_store || bail "the store does not start again"
Q3=$(submit p1:0000000B:key-two)
stop_store; start_store || bail "the store does not start a third time"
Q3b=$(submit p1:0000000B:key-two)
test -n "$Q3" && [ "$Q3" = "$Q3b" ]; ok $? "a key within its lifetime outlives a restart: still one message"
sleep 3
! grep -q "de-duplication keys: .* expired (older than 864000s)" "$T_STORE_LOG"; ok $? "nothing expires before its time"
! grep -q "de-duplication key sweep:" "$T_STORE_LOG"; ok $? "no sweep failed"
