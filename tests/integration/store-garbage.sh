#!/bin/sh
# store-garbage.sh - clients sending malformed frames are disconnected; the store keeps serving the others.
. "$(dirname "$0")/lib.sh"

write_config
start_store || bail "spoolgate-store did not start"
"$STORE_LOAD" garbage -s "$T_SOCKET" > "$T_DIR/garbage.out" 2>&1
rc=$?
# store-load prints one TAP line per check; renumber them into our plan.
grep -E '^(not )?ok' "$T_DIR/garbage.out" | sed -E 's/^((not )?ok)( [0-9]+)? - /\1 /' > "$T_DIR/lines"
total=$(( $(wc -l < "$T_DIR/lines") + 4 ))
plan "$total"
while read -r verdict rest; do
    case "$verdict" in not) ok 1 "${rest#ok }";; *) ok 0 "$rest";; esac
done < "$T_DIR/lines"
ok "$rc" "store-load garbage exits 0"
store_alive; ok $? "spoolgate-store is still running after all bad input"
grep -q "unknown message type 999" "$T_STORE_LOG"; ok $? "the log names the rejected frame type"
grep -q "speaks protocol 99.0" "$T_STORE_LOG"; ok $? "the log names the version mismatch"
stop_store
