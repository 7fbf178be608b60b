#!/bin/sh
# store-garbage.sh - clients sending malformed frames are disconnected; the store keeps serving the others.
. "$(dirname "$0")/lib.sh"

write_config
start_store || bail "spoolgate-store did not start"
"$STORE_LOAD" garbage -s "$T_SOCKET" > "$T_DIR/garbage.out" 2>&1
rc=$?
relay_tap "$T_DIR/garbage.out" 4
ok "$rc" "store-load garbage exits 0"
store_alive; ok $? "spoolgate-store is still running after all bad input"
grep -q "unknown message type 999" "$T_STORE_LOG"; ok $? "the log names the rejected frame type"
grep -q "speaks protocol 99.0" "$T_STORE_LOG"; ok $? "the log names the version mismatch"
stop_store
