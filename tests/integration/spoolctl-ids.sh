#!/bin/sh
# spoolctl-ids.sh - spoolctl's id commands: several ids, - for ids on stdin, ALL only when written, and the exit codes 64, 67 and 75.
. "$(dirname "$0")/lib.sh"

plan 22
write_config
start_store; ok $? "spoolgate-store starts"
inject() { printf 'Subject: t\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f "$1" "$2" | sed -n 's/^queued as //p'; }
Q1=$(inject a@one.test r1@dest.test); Q2=$(inject a@one.test r2@dest.test); Q3=$(inject b@two.test r3@dest.test)
test -n "$Q1" && test -n "$Q2" && test -n "$Q3"; ok $? "three messages queued ($Q1 $Q2 $Q3)"
state_of() { "$SPOOLCTL" -s "$T_SOCKET" show "$1" | sed -n 's/^ *-> <[^>]*>  \([a-z]*\) .*/\1/p'; }

"$SPOOLCTL" -s "$T_SOCKET" hold "$Q1" "$Q2" > "$T_DIR/hold.out"
ok $? "hold Q1 Q2 exits 0"
test "$(state_of "$Q1")" = held && test "$(state_of "$Q2")" = held && test "$(state_of "$Q3")" = queued
ok $? "both named messages are held, the third is not"
MISSING=0000000000000
"$SPOOLCTL" -s "$T_SOCKET" release "$Q1" "$MISSING" "$Q2" > "$T_DIR/rel.out" 2> "$T_DIR/rel.err"
test $? -eq 67; ok $? "release with one id missing exits 67 (EX_NOUSER)"
test "$(state_of "$Q1")" = queued && test "$(state_of "$Q2")" = queued
ok $? "and the ids around the missing one were still released"
grep -q "$MISSING.*no such message" "$T_DIR/rel.err"; ok $? "the missing id is named on stderr"
grep -c "recipients changed" "$T_DIR/rel.out" | grep -qx 2; ok $? "one line on stdout for each id done"

printf '%s\n%s\n' "$Q2" "$Q3" | "$SPOOLCTL" -s "$T_SOCKET" hold - > /dev/null
ok $? "hold - takes ids from stdin"
test "$(state_of "$Q1")" = queued && test "$(state_of "$Q2")" = held && test "$(state_of "$Q3")" = held
ok $? "exactly the ids read from stdin were held"
"$SPOOLCTL" -s "$T_SOCKET" list --state held --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if sorted(m["qid"] for m in d["messages"]) == sorted(sys.argv[1:]) else 1)' "$Q2" "$Q3"
ok $? "list --state held shows the two"

"$SPOOLCTL" -s "$T_SOCKET" hold > "$T_DIR/bare.out" 2>&1
test $? -eq 64 && test "$(state_of "$Q1")" = queued; ok $? "a bare hold is a usage error (64) and holds nothing"
"$SPOOLCTL" -s "$T_SOCKET" hold ALL > "$T_DIR/all.out"
ok $? "hold ALL"
test "$(state_of "$Q1")" = held && grep -q "^hold ALL: 1 recipients changed" "$T_DIR/all.out"
ok $? "ALL held the one message not yet held"
"$SPOOLCTL" -s "$T_SOCKET" release "$Q1" ALL > /dev/null 2>&1; test $? -eq 64
ok $? "ALL among ids is a usage error"
"$SPOOLCTL" -s "$T_SOCKET" hold not-a-qid "$Q1" > /dev/null 2>&1; test $? -eq 64
ok $? "a malformed id is a usage error before anything is done"
"$SPOOLCTL" -s "$T_SOCKET" list --limit abc > /dev/null 2>&1; test $? -eq 64
ok $? "--limit abc is a usage error (64)"
"$SPOOLCTL" -s "$T_SOCKET" list --limit 2 | tail -1 | grep -qx "2 messages"
ok $? "--limit 2 lists two"

"$SPOOLCTL" -s "$T_SOCKET" delete "$Q3" "$MISSING" > /dev/null 2>&1
test $? -eq 67 && "$SPOOLCTL" -s "$T_SOCKET" show "$Q3" > /dev/null 2>&1; test $? -eq 67
ok $? "delete Q3 MISSING: 67, and Q3 is gone (show exits 67 for it)"
"$SPOOLCTL" -s "$T_SOCKET" cat "$Q1" "$Q2" | grep -c "^body" | grep -qx 2
ok $? "cat takes several ids"

stop_store
"$SPOOLCTL" -s "$T_SOCKET" stats > /dev/null 2> "$T_DIR/down.err"; test $? -eq 75
ok $? "store down: exit 75 (EX_TEMPFAIL)"
"$SPOOLCTL" -s "$T_SOCKET" list --limit abc > /dev/null 2>&1; test $? -eq 64
ok $? "store down and a bad option: still the usage error"
