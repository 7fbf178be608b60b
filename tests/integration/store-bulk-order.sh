#!/bin/sh
# store-bulk-order.sh - submissions' commits go to the worker pool a few at a time (store_work.c), so a read queued after many large commits waits for a few of them, not for all.
. "$(dirname "$0")/lib.sh"
ORDER="python3 $top_srcdir/tests/integration/store_bulk_order.py"

plan 4
# Two worker threads: at most four commits, or 1 MiB of them (but always one), in the pool at
# once; bodies staged in memory (no spill work).
write_config "worker_threads = 2
staging_memory = 4m
"
start_store; ok $? "spoolgate-store starts (worker_threads 2)"
out=$($ORDER "$T_SOCKET" 24 2097152 2> "$T_DIR/order.err")
diag < "$T_DIR/order.err"
echo "$out" | diag
before=$(echo "$out" | sed -n 's/^ORDER before=\([0-9]*\) .*/\1/p')
case "$out" in *"committed=24 read=ok"*) r=0 ;; *) r=1 ;; esac
ok $r "24 sessions' 2 MiB commits all answered SUBMITTED, and the read got its body ($out)"
[ -n "$before" ] && [ "$before" -le 4 ]
ok $? "the read sent after them was answered after ${before:-?} of the 24 commits (at most 4; first come, first served it waited for nearly all)"
test "$(store_count)" = 25; ok $? "all 25 messages are stored"
stop_store
