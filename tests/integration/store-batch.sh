#!/bin/sh
# store-batch.sh - LIST_FROM pages and UPDATE_BATCH against a real store (store_batch.py), checked again with spoolctl.
. "$(dirname "$0")/lib.sh"
# debug: store_batch.py counts the store's line per recipient update
write_config "[global]
log_level = debug
"
start_store || bail "the store does not start"
python3 "$top_srcdir/tests/integration/store_batch.py" "$T_SOCKET" "$T_STORE_LOG" > "$T_DIR/batch.tap" 2>&1
relay_tap "$T_DIR/batch.tap" 4
grep -vE '^(ok|1\.\.)' "$T_DIR/batch.tap" | diag
"$SPOOLCTL" -s "$T_SOCKET" list --state deferred > "$T_DIR/deferred.out"
test "$(tail -1 "$T_DIR/deferred.out")" = "40 messages" && test "$(grep -c 'reply=451 4.4.1 batch-reply-' "$T_DIR/deferred.out")" -eq 39
ok $? "spoolctl list shows the 40 messages the batch deferred, 39 with the batch's reply (one was updated again)"
"$SPOOLCTL" -s "$T_SOCKET" stats > "$T_DIR/stats.out"
grep -qx "messages: 113" "$T_DIR/stats.out" && grep -qx "recipients deferred: 40" "$T_DIR/stats.out" &&
    grep -qx "recipients delivered: 1" "$T_DIR/stats.out" && grep -qx "recipients held: 20" "$T_DIR/stats.out"
ok $? "spoolctl stats: 113 messages (110 left of the batch test, 3 of the wide one), 40 recipients deferred, 1 delivered, 20 held"
diag < "$T_DIR/stats.out"
grep -q "bad UPDATE_BATCH: update batch: not count whole UPDATE_RCPT frames" "$T_STORE_LOG"
ok $? "the refused batch is logged with its reason"
"$SPOOLCTL" -s "$T_SOCKET" generation > /dev/null; ok $? "and the store goes on serving"
