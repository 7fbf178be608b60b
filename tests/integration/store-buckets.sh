#!/bin/sh
# store-buckets.sh - new bodies go to body databases removed whole once empty: bytes written per message, reopened at a restart, bodies still queued moved into body.db.
. "$(dirname "$0")/lib.sh"

N=200
SIZE=262144
plan 14
bucket_config() {
    printf '[global]\nstate_dir = %s\n[store]\ncheckpoint_interval = 60s\nbody_bucket_size = 4m\nbody_bucket_age = 1s\nbody_bucket_keep = %s\n' \
        "$T_DIR" "$1" > "$T_CONFIG"
}
buckets() { ls "$T_DIR/store" | grep -c '^body-[0-9a-f]*\.db$'; }
# written: what the store wrote to disk so far (written less what was cancelled before writeback).
written() { awk '/^write_bytes/ { w = $2 } /^cancelled_write_bytes/ { c = $2 } END { print w - c }' "/proc/$STORE_PID/io"; }
delete_acked() { cut -d' ' -f1 "$1" | while read -r q; do "$SPOOLCTL" -s "$T_SOCKET" delete "$q" > /dev/null || echo "$q"; done; }
no_buckets_left() { wait_for 20 sh -c "[ \$(ls '$T_DIR/store' | grep -c '^body-') -eq 0 ]"; }

bucket_config 1h
start_store; ok $? "spoolgate-store starts"
w0=$(written)
"$STORE_LOAD" submit -s "$T_SOCKET" -c 8 -n "$N" --min "$SIZE" --max "$SIZE" --ack "$T_DIR/acks1" > "$T_DIR/submit1.out" 2>&1
ok $? "$N messages of $SIZE octets submitted by 8 clients"
diag < "$T_DIR/submit1.out"
test "$(buckets)" -ge 2 && test "$(stat -c %s "$T_DIR/store/body.db")" -lt 1048576
ok $? "their bodies are in $(buckets) body databases of 4 MiB, not in body.db"
test -z "$(delete_acked "$T_DIR/acks1")" && test "$(store_count)" = 0
ok $? "every one deleted again"
no_buckets_left; ok $? "once empty and closed, every body database is removed"
w1=$(written)
echo "# store wrote $((w1 - w0)) bytes for $N x $SIZE octets: $(( (w1 - w0) * 100 / (N * SIZE) ))% of the bodies"
test $((w1 - w0)) -le $((2 * N * SIZE)); ok $? "the store wrote at most twice the body octets (deletes log no body again)"

"$STORE_LOAD" submit -s "$T_SOCKET" -c 4 -n 50 --min 1024 --max "$SIZE" --ack "$T_DIR/acks2" > "$T_DIR/submit2.out" 2>&1
ok $? "50 more messages submitted"
stop_store
start_store
"$STORE_LOAD" verify -s "$T_SOCKET" --ack "$T_DIR/acks2" > "$T_DIR/verify2.out" 2>&1 && test "$(buckets)" -ge 1
ok $? "after a restart the body databases are open again and every body reads back byte-identical"
diag < "$T_DIR/verify2.out"

bucket_config 2s
kill -HUP "$STORE_PID"
wait_for 20 grep -q "queued bodies moved into body.db" "$T_STORE_LOG"
ok $? "with body_bucket_keep = 2s the bodies still queued are moved into body.db"
no_buckets_left; ok $? "and the body databases they were in are removed"
"$STORE_LOAD" verify -s "$T_SOCKET" --ack "$T_DIR/acks2" > "$T_DIR/verify3.out" 2>&1
ok $? "every moved body reads back byte-identical"
test "$(store_count)" = 50; ok $? "spoolctl list still shows the 50 messages"
test -z "$(delete_acked "$T_DIR/acks2")" && test "$(store_count)" = 0
ok $? "and they are deleted from body.db"
grep -q "berkeley db:\|corrupt" "$T_STORE_LOG"; test $? -ne 0; ok $? "no Berkeley DB error or corruption logged"
stop_store
