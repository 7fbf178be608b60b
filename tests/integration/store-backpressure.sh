#!/bin/sh
# store-backpressure.sh - a client that pipelines 3 000 READ_ENVELOPEs for a message of 1 000 recipients and never reads the answers cannot grow the store: it stops reading from that client (issue 19 audit: 36 -> 261 MB), and serves everyone else meanwhile.
. "$(dirname "$0")/lib.sh"

plan 4
write_config
start_store || bail "the store does not start"
rcpts=$(i=1; while [ $i -le 1000 ]; do printf ' r%04d@dst.test' $i; i=$((i + 1)); done)
Q=$(printf 'Subject: many\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test $rcpts | awk '{print $NF}')
test -n "$Q"; ok $? "a message of 1 000 recipients ($Q)"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$STORE_PID/status"; }
before=$(rss)
python3 "$top_srcdir/tests/integration/ipc_unread.py" "$T_SOCKET" "$Q" 3000 > "$T_DIR/unread.out" 2>&1 &
UNREAD=$!
T_BG_PIDS="${T_BG_PIDS:-} $UNREAD"
wait_for 15 grep -q '^sent' "$T_DIR/unread.out"
sleep 2
after=$(rss)
grew=$(( (after - before) / 1024 ))
echo "store RSS ${before} KiB before, ${after} KiB with $(cat "$T_DIR/unread.out") requests unread (answers of ~100 KiB each)" | diag
if [ -n "${SG_SANITIZERS:-}" ]; then
    ok 0 "# SKIP RSS is not measurable under ASan (freed memory is quarantined)"
else
    test "$grew" -lt 48; ok $? "the store grew by $grew MiB, not by the 300 MiB of answers asked for"
fi
"$SPOOLCTL" -s "$T_SOCKET" stats > /dev/null && "$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | tail -1 | grep -q '^1 messages'
ok $? "meanwhile the store serves other clients"
kill "$UNREAD"; wait "$UNREAD" 2>/dev/null
sleep 0.5
kill -0 "$STORE_PID"; ok $? "the store runs on after the client went away"
