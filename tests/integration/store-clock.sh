#!/bin/sh
# store-clock.sh - the clock jumps two days back across a store restart (libfaketime): the generation still increases, new queue ids still sort after the old ones, and the older message is adopted and listed (issue 19 faults).
. "$(dirname "$0")/lib.sh"
FT_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
[ -f "$FT_LIB" ] || { echo "1..0 # SKIP libfaketime not installed"; exit 0; }
# libfaketime preloaded before ASan's runtime is not a combination ASan promises to run
[ -z "${SG_SANITIZERS:-}" ] || { echo "1..0 # SKIP not under the sanitizers (LD_PRELOAD)"; exit 0; }

plan 6
write_config
start_store || bail "the store does not start"
inject() { printf 'Subject: clock\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "$1" | awk '{print $NF}'; }
Q1=$(inject before@dst.test)
G1=$("$SPOOLCTL" -s "$T_SOCKET" generation)
stop_store
# The store runs two days in the past (so does start_store's readiness check).
export LD_PRELOAD="$FT_LIB" FAKETIME=-2d
start_store; r=$?
unset LD_PRELOAD FAKETIME
ok $r "the store starts with its clock two days back"
grep -q "$(date -u -d '-2 days' +%Y-%m-%dT)" "$T_STORE_LOG"; ok $? "and it does run two days back (its log's dates)"
G2=$("$SPOOLCTL" -s "$T_SOCKET" generation)
[ -n "$G1" ] && [ -n "$G2" ] && [ "$G2" -gt "$G1" ]; ok $? "its generation still increases ($G1 -> $G2)"
Q2=$(inject after@dst.test)
[ -n "$Q2" ] && [ "$(printf '%s\n%s\n' "$Q1" "$Q2" | LC_ALL=C sort | tail -1)" = "$Q2" ] && [ "$Q1" != "$Q2" ]
ok $? "a new queue id sorts after the older one ($Q1 < $Q2)"
"$SPOOLCTL" -s "$T_SOCKET" list > "$T_DIR/list.out"
grep -q "^$Q1 .*gen=$G2" "$T_DIR/list.out" && grep -q "^$Q2 " "$T_DIR/list.out"
ok $? "both messages are listed, the older one adopted into the new generation"
grep -q "1 adopted from older generations" "$T_STORE_LOG"; ok $? "the start-up says it adopted it"
