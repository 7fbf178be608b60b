#!/bin/sh
# store-counts.sh - the counts for stats are kept by the transactions: they match a full list after a mix of every change, after kill -9 mid-load, and at every start.
. "$(dirname "$0")/lib.sh"

MIX="$top_srcdir/tests/integration/store_mix.py"
plan 15
# debug: the test waits for the store's recipient-update lines
write_config "[global]
log_level = debug
"
start_store; ok $? "spoolgate-store starts"
python3 "$MIX" "$T_SOCKET" once "$(scale 240)" 7 > "$T_DIR/mix.out" 2>&1
ok $? "a mix of submits, holds, releases, deletes, requeues, single and batched updates"
diag < "$T_DIR/mix.out"
"$SPOOLCTL" -s "$T_SOCKET" stats --verify > "$T_DIR/verify1.out" && grep -qx "verify: the counts agree with a full list" "$T_DIR/verify1.out"
ok $? "spoolctl stats --verify: the counts agree with a full list"
diag < "$T_DIR/verify1.out"
grep -q "^recipients delivered: [1-9]" "$T_DIR/verify1.out" && grep -q "^recipients held: [1-9]" "$T_DIR/verify1.out" &&
    grep -q "^recipients failed: [1-9]" "$T_DIR/verify1.out"
ok $? "and the mix left recipients delivered, failed and held to count"
stop_store
start_store; ok $? "the store restarts"
test "$(grep -c "the counts kept for stats agree with the re-enumeration" "$T_STORE_LOG")" -eq 2
ok $? "at both starts the kept counts agreed with the start-up re-enumeration"

for round in 1 2; do
    python3 "$MIX" "$T_SOCKET" loop "$round" > "$T_DIR/loop$round.out" 2>&1 &
    LOOP=$!
    updates=$(grep -c "reply=mix loop" "$T_STORE_LOG")
    wait_for 10 sh -c "test \$(grep -c 'reply=mix loop' '$T_STORE_LOG') -gt $updates"
    "$STORE_LOAD" submit -s "$T_SOCKET" -c 4 -n 100000 --min 512 --max 8192 --seed "$round" \
        --ack "$T_DIR/acks" > "$T_DIR/submit$round.out" 2>&1 &
    LOAD=$!
    target=$(( $(cat "$T_DIR/acks" 2>/dev/null | wc -l) + 2000 ))
    for _ in $(seq 1 600); do
        [ "$(cat "$T_DIR/acks" 2>/dev/null | wc -l)" -ge "$target" ] && break
        sleep 0.1
    done
    kill9_store
    wait "$LOAD" "$LOOP"
    grep -q "the store went away" "$T_DIR/loop$round.out"
    ok $? "round $round: batched updates ran until the store was killed"
    start_store; ok $? "round $round: the store restarts after kill -9 amid submits and batched updates"
    "$SPOOLCTL" -s "$T_SOCKET" stats --verify > "$T_DIR/verify-crash$round.out" &&
        grep -qx "verify: the counts agree with a full list" "$T_DIR/verify-crash$round.out"
    ok $? "round $round: after recovery the counts agree with a full list"
    diag < "$T_DIR/verify-crash$round.out"
    test "$(grep -c "the counts kept for stats agree with the re-enumeration" "$T_STORE_LOG")" -eq $((round + 2))
    ok $? "round $round: and with the start-up re-enumeration"
done
grep -q "counts kept for stats disagreed" "$T_STORE_LOG"; test $? -ne 0
ok $? "the kept counts never had to be corrected"
