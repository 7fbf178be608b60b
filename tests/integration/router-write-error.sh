#!/bin/sh
# router-write-error.sh - a peer resets the connection while the body is written: the write failure is the recipient's recorded reason and the DSN's.
. "$(dirname "$0")/lib.sh"

plan 8
start_peer sink sink
RESET_PORT=$(free_port)
python3 "$top_srcdir/tests/integration/smtp_reset_peer.py" --port "$RESET_PORT" --read 65536 --pause 0.5 \
    > "$T_DIR/reset.out" 2>&1 &
T_BG_PIDS="${T_BG_PIDS:-} $!"
wait_for 10 grep -q '^ready' "$T_DIR/reset.out" || bail "the resetting peer does not start"
write_router_config "reset.test smtp:[127.0.0.1]:$RESET_PORT
sender.test smtp:[127.0.0.1]:$sink_PORT" "retry_first = 1s
retry_max = 1s
max_queue_lifetime = 5s"
start_store; ok $? "spoolgate-store starts"
start_router; ok $? "spoolgate-router starts"

# 12 MiB: far more than the socket buffers hold (the peer's is 64 KiB, ours at most
# tcp_wmem's 4 MiB) when the peer stops reading after 64 KiB.
python3 -c "
import sys
sys.stdout.write('Subject: big\n\n')
line = 'x' * 76 + '\n'
sys.stdout.write(line * (12 * 1024 * 1024 // len(line)))
" > "$T_DIR/big.txt"
Q=$("$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test bob@reset.test < "$T_DIR/big.txt" | awk '{print $NF}')
WRITE_ERROR="write to \[127.0.0.1\]:$RESET_PORT failed: "

wait_for 15 grep -q '^reset after' "$T_DIR/reset.out"; ok $? "the peer reset the connection in the body"
queue_shows 10 "$Q" "reply=4.4.2 $WRITE_ERROR"
ok $? "the recipient's recorded reason is the failed write"
"$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | diag
grep -qE "$Q: 4.4.2 ${WRITE_ERROR}[a-z]" "$T_ROUTER_LOG"; ok $? "the router logs the write failure with its error"

# After max_queue_lifetime the recipient fails; the DSN gives the last reason.
wait_for 20 sh -c "$DSN_CHECK '$T_DIR/sink' --sender alice@sender.test --rcpt bob@reset.test --action failed | grep -q '^ok'"
$DSN_CHECK "$T_DIR/sink" --sender alice@sender.test --rcpt bob@reset.test --action failed --status-class 4 \
    --reason-contains "gave up after" --reason-contains "write to [127.0.0.1]:$RESET_PORT failed" > "$T_DIR/dsn.tap"
! grep -q '^not ok' "$T_DIR/dsn.tap"; ok $? "the failure DSN names the write failure ($(grep -c '^ok' "$T_DIR/dsn.tap") checks)"
grep '^not ok' -A5 "$T_DIR/dsn.tap" | diag
wait_for 5 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list | tail -1 | cut -d' ' -f1) = 0 ]"
ok $? "nothing is left in the store"
kill -0 "$ROUTER_PID"; ok $? "the router is still running"
