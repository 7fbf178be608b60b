#!/bin/sh
# store-garbage.sh - clients sending malformed frames are disconnected; the store keeps serving the others.
. "$(dirname "$0")/lib.sh"

write_config
start_store || bail "spoolgate-store did not start"
store_load_tap garbage 4
store_alive; ok $? "spoolgate-store is still running after all bad input"
grep -q "unknown message type 999" "$T_STORE_LOG"; ok $? "the log names the rejected frame type"
grep -q "speaks protocol 99.0" "$T_STORE_LOG"; ok $? "the log names the version mismatch"
stop_store
