#!/bin/sh
# store-crash.sh - kill -9 the store mid-submission twice: every acknowledged message survives, nothing partial, new generation.
. "$(dirname "$0")/lib.sh"

plan 14
write_config
start_store; ok $? "spoolgate-store starts"
for round in 1 2; do
    GEN_BEFORE=$("$SPOOLCTL" -s "$T_SOCKET" generation)
    "$STORE_LOAD" submit -s "$T_SOCKET" -c 8 -n 100000 --min 1024 --max 262144 --seed "$round" \
        --ack "$T_DIR/acks" > "$T_DIR/submit$round.out" 2>&1 &
    LOAD=$!
    target=$(( $(cat "$T_DIR/acks" 2>/dev/null | wc -l) + 100 ))
    for _ in $(seq 1 600); do
        [ "$(cat "$T_DIR/acks" 2>/dev/null | wc -l)" -ge "$target" ] && break
        sleep 0.1
    done
    kill9_store
    wait "$LOAD"
    test $? -eq 3; ok $? "round $round: clients saw the store die mid-submission (kill -9)"
    start_store; ok $? "round $round: the store restarts with recovery"
    GEN_AFTER=$("$SPOOLCTL" -s "$T_SOCKET" generation)
    test "$GEN_AFTER" -gt "$GEN_BEFORE"; ok $? "round $round: new generation $GEN_AFTER > $GEN_BEFORE"
    "$STORE_LOAD" verify -s "$T_SOCKET" --ack "$T_DIR/acks" --expect-all-generation > "$T_DIR/verify$round.out" 2>&1
    ok $? "round $round: every acknowledged message is there, byte-identical, no partial one, all of the new generation"
    diag < "$T_DIR/verify$round.out"
    acked=$(wc -l < "$T_DIR/acks")
    listed=$("$SPOOLCTL" -s "$T_SOCKET" list | tail -1 | cut -d' ' -f1)
    test "$listed" -ge "$acked"; ok $? "round $round: spoolctl list shows $listed messages (>= $acked acknowledged)"
    grep -q "messages in the store, $listed adopted from older generations" "$T_STORE_LOG"
    ok $? "round $round: the start-up re-enumeration logged $listed adopted messages"
done
"$STORE_LOAD" submit -s "$T_SOCKET" -c 2 -n 20 --seed 9 --ack "$T_DIR/acks" > /dev/null 2>&1
ok $? "the restarted store accepts new mail"
stop_store
