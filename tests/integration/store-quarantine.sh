#!/bin/sh
# store-quarantine.sh - a recipient record that does not decode, or is missing, is logged and quarantined: the store starts, lists and serves everything else, the message shows held with the reason (issue 19 audit: one bad record stopped the store from starting).
. "$(dirname "$0")/lib.sh"
command -v db5.3_dump > /dev/null || { echo "1..0 # SKIP db5.3-util not installed"; exit 0; }

plan 11
start_peer sink sink
write_router_config "ok.test smtp:[127.0.0.1]:$sink_PORT
bad.test smtp:[127.0.0.1]:$sink_PORT" "retry_first = 1s
retry_max = 1s"
start_store || bail "the store does not start"
inject() { printf 'Subject: q\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "$@" | awk '{print $NF}'; }
QB=$(inject a@bad.test b@bad.test c@bad.test)
QG=$(inject good@ok.test)
stop_store
# Recipient 1 of QB gets an unknown record version, recipient 2 goes missing (db_dump, edit, db_load).
DB="$T_DIR/store/rcpt.db"
db5.3_dump -p "$DB" > "$T_DIR/rcpt.dump"
python3 - "$T_DIR/rcpt.dump" "$QB" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
head = lines.index("HEADER=END") + 1
end = lines.index("DATA=END")
data = lines[head:end]
pairs = [(data[i], data[i + 1]) for i in range(0, len(data), 2)]
# rcpt keys: 8-octet qid, 4-octet index; recipients of one message are consecutive in key order
idx = {k: n for n, (k, _) in enumerate(pairs)}
first = next(n for n, (k, v) in enumerate(pairs) if "a@bad.test" in v)
k1, v1 = pairs[first + 1]
assert v1.startswith(" \\01") and "b@bad.test" in v1, v1
pairs[first + 1] = (k1, " \\7f" + v1[4:])
assert "c@bad.test" in pairs[first + 2][1]
del pairs[first + 2]
out = lines[:head] + [x for p in pairs for x in p] + lines[end:]
open(sys.argv[1], "w").write("\n".join(out))
PY
rm -f "$DB" && db5.3_load -f "$T_DIR/rcpt.dump" "$DB"; ok $? "a bad and a missing recipient record planted in rcpt.db"
start_store; ok $? "the store starts all the same"
grep -q "$QB: recipient 1 record does not decode: unknown record version; the message is quarantined" "$T_STORE_LOG" &&
    grep -q "$QB: recipient 2 record is missing; the message is quarantined" "$T_STORE_LOG" &&
    grep -q "2 records do not decode or are missing" "$T_STORE_LOG"
ok $? "each bad record is logged with its message, and the count at start"
"$SPOOLCTL" -s "$T_SOCKET" list > "$T_DIR/list.out"; r=$?
[ $r -eq 0 ] && grep -q "^$QB " "$T_DIR/list.out" && grep -q "^$QG " "$T_DIR/list.out" && grep -q "^2 messages" "$T_DIR/list.out"
ok $? "spoolctl list runs to its end and shows both messages"
test "$(grep -c "held .*reply=quarantined: the store's record of this recipient" "$T_DIR/list.out")" = 2
ok $? "the two recipients show held, quarantined, with the reason"
start_smtpd && start_router; ok $? "smtpd and the router start"
wait_for 10 sh -c "cat '$T_DIR'/sink/*.json 2>/dev/null | grep -q good@ok.test"; ok $? "the other message is delivered"
Q3=$(inject new@ok.test)
wait_for 10 sh -c "cat '$T_DIR'/sink/*.json 2>/dev/null | grep -q new@ok.test"; ok $? "new mail is taken and delivered ($Q3)"
wait_for 10 sh -c "$SPOOLCTL -s $T_SOCKET list --match $QB | grep -q '<a@bad.test>  delivered'"
ok $? "the quarantined message's good recipient is delivered and recorded; the message stays"
sleep 2
! grep -q "recording .* failed\|due scan: unexpected" "$T_ROUTER_LOG"
ok $? "no update batch and no due scan fails on the bad records"
kill -0 "$STORE_PID" && kill -0 "$ROUTER_PID"; ok $? "store and router still run"
