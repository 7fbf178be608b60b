#!/bin/sh
# stop-inflight.sh - SIGTERM to a daemon with work in flight (made slow: strace delays its fsyncs, or the peer its reply to the dot): the store answers the commit it took, smtpd passes that answer on before its 421, the gateway the delivery it took, the router waits for the message it is sending and for the gateway's answer, and records their outcomes before it exits, so nothing is sent twice and no client is told "failed" for what was done (daemon-order.sh once saw both).
. "$(dirname "$0")/lib.sh"
SAY="python3 $top_srcdir/tests/integration/smtp_say.py"

can_strace || { echo "1..0 # SKIP strace cannot attach to a process here"; exit 0; }
plan 22
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH:"John Smith" > /dev/null
start_peer slow slow-dot 127.0.0.1 "" --dot-delay 1.5
write_router_config "slow.test smtp:[127.0.0.1]:$slow_PORT" "[gateway]
share = $T_SHARE
poll_interval = 1s"
queued() { "$SPOOLCTL" -s "$T_SOCKET" list | tail -1 | cut -d' ' -f1; }
qid_of() { grep -o '[0-9A-Z]\{13\}' "$1" | head -1; }

# ---- the store: a commit in flight --------------------------------------------------------
start_store || bail "the store does not start"
slow_syncs STORE 500000 # a commit (several syncs) is in flight for seconds
printf 'Subject: in flight\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test r@dst.test > "$T_DIR/send.out" 2>&1 &
SEND=$!
sleep 1
kill -TERM "$STORE_PID"
sleep 0.5
printf 'Subject: late\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test late@dst.test > "$T_DIR/late.out" 2>&1
late=$?
wait "$SEND"; sent=$?
wait "$STORE_PID"; stopped=$?
STORE_PID=
kill "$SLOW_PID" 2> /dev/null; wait "$SLOW_PID" 2> /dev/null
cat "$T_DIR/send.out" "$T_DIR/late.out" | diag
test "$sent" = 0 && test -n "$(qid_of "$T_DIR/send.out")"
ok $? "store: the submission in flight at the SIGTERM was answered: accepted ($sent)"
grep -q "once the 1 requests in flight are answered" "$T_STORE_LOG"; ok $? "store: it said it would answer it first"
! grep -q "went away before the reply" "$T_STORE_LOG"; ok $? "store: no commit went unanswered"
test "$late" != 0; ok $? "store: a submission after the SIGTERM is not taken ($late)"
test "$stopped" = 0; ok $? "store: stopped cleanly ($stopped)"
start_store || bail "the store does not start again"
Q=$(qid_of "$T_DIR/send.out")
"$SPOOLCTL" -s "$T_SOCKET" list > "$T_DIR/list.out"
test -n "$Q" && grep -q "^$Q" "$T_DIR/list.out" && [ "$(queued)" = 1 ]
ok $? "store: after a restart it holds that message ($Q), and only it"
"$SPOOLCTL" -s "$T_SOCKET" delete "$Q" > /dev/null

# ---- smtpd: a session waiting for its commit, and an idle one ----------------------------------
start_smtpd || bail "smtpd does not start"
slow_syncs STORE 500000
python3 - "$SMTP_PORT" > "$T_DIR/idle.out" <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
f = s.makefile("rb")
f.readline(); s.sendall(b"EHLO idle.test\r\n")
while f.readline()[3:4] == b"-":
    pass
s.settimeout(15)
print(f.readline().decode(errors="replace").strip() or "(connection closed)")
PY
IDLE=$!
$SAY "$SMTP_PORT" "EHLO t" "MAIL FROM:<s@src.test>" "RCPT TO:<e@dst.test>" "DATA:Subject: e\n\nbody" QUIT > "$T_DIR/commit.out" 2>&1 &
COMMIT=$!
sleep 1.5
kill -TERM "$SMTPD_PID"
wait "$COMMIT"; wait "$IDLE"; wait "$SMTPD_PID"
SMTPD_PID=
kill "$SLOW_PID" 2> /dev/null; wait "$SLOW_PID" 2> /dev/null
cat "$T_DIR/commit.out" "$T_DIR/idle.out" | diag
sed -n 6p "$T_DIR/commit.out" | grep -q '^250 2.0.0 Ok: queued as'; ok $? "smtpd: the session waiting for its commit at the SIGTERM gets its 250"
sed -n 7p "$T_DIR/commit.out" | grep -q '^421 4.3.2 '; ok $? "smtpd: and then 421, not a cut connection"
grep -q '^421 4.3.2 .*shutting down' "$T_DIR/idle.out"; ok $? "smtpd: an idle session is told 421 4.3.2"
Q=$(sed -n 6p "$T_DIR/commit.out" | grep -o '[0-9A-Z]\{13\}')
test -n "$Q" && "$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" | grep -q "^$Q"; ok $? "smtpd: the message is in the store ($Q)"
[ -n "$Q" ] && "$SPOOLCTL" -s "$T_SOCKET" delete "$Q" > /dev/null

# ---- the router: a message being sent ------------------------------------------------------
start_router || bail "the router does not start"
printf 'Subject: slow\n\nslow\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test sam@slow.test > "$T_DIR/slow.out"
Q=$(qid_of "$T_DIR/slow.out")
wait_for 10 sh -c "ls '$T_DIR'/slow/*.json 2>/dev/null | grep -q ."
begun=$(date +%s)
stop_router
took=$(( $(date +%s) - begun ))
grep -q "$Q: to=<sam@slow.test>.*status=sent" "$T_ROUTER_LOG"; ok $? "router: the message being sent at the SIGTERM was seen through ($Q)"
test "$(queued)" = 0; ok $? "router: and its delivery recorded before the router exited"
test "$took" -le 6; ok $? "router: the stop took ${took} s (the peer answered after 1.5 s)"
start_router || bail "the router does not start again"
sleep 2
test "$(ls "$T_DIR"/slow/*.json | wc -l)" = 1; ok $? "router: after a restart it is not sent again"

# ---- the gateway: a transfer file being written --------------------------------------------
start_gateway || bail "the gateway does not start"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
slow_syncs GATEWAY 400000
printf 'Subject: po\n\npo\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "jsmith@$T_PO_DOMAIN" > "$T_DIR/po.out"
Q=$(qid_of "$T_DIR/po.out")
in_flight() { wait_for 10 sh -c "ls '$T_SHARE'/P1/*.TMP 2>/dev/null | grep -q ."; }
in_flight; ok $? "gateway: a transfer file is being written ($Q)"
stop_gateway
kill "$SLOW_PID" 2> /dev/null; wait "$SLOW_PID" 2> /dev/null
grep -q "answering the 1 deliveries under way first" "$T_GATEWAY_LOG"; ok $? "gateway: it said it would answer the delivery under way first"
wait_for 5 grep -q "$Q: to=<jsmith@$T_PO_DOMAIN>.*status=sent" "$T_ROUTER_LOG"
ok $? "gateway: the router got its answer: delivered ($Q)"
test "$(ls "$T_SHARE"/P1/*.P1 2>/dev/null | wc -l)" = 1 && [ "$(queued)" = 0 ]; ok $? "gateway: one transfer file, and nothing left queued"

# ---- the router again: a postoffice delivery being made --------------------------------------
links=$(grep -c "postoffice gateway ready" "$T_ROUTER_LOG")
start_gateway || bail "the gateway does not start again"
wait_for 10 sh -c "[ \$(grep -c 'postoffice gateway ready' '$T_ROUTER_LOG') -gt $links ]"
slow_syncs GATEWAY 400000
printf 'Subject: po2\n\npo2\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@src.test "jsmith@$T_PO_DOMAIN" > "$T_DIR/po2.out"
Q=$(qid_of "$T_DIR/po2.out")
in_flight; ok $? "router: a postoffice delivery is under way ($Q)"
stop_router
kill "$SLOW_PID" 2> /dev/null; wait "$SLOW_PID" 2> /dev/null
grep -q "$Q: to=<jsmith@$T_PO_DOMAIN>.*status=sent" "$T_ROUTER_LOG"; ok $? "router: it waited for the gateway's answer ($Q)"
test "$(queued)" = 0; ok $? "router: and recorded it before it exited"
start_router || bail "the router does not start again"
sleep 2
test "$(ls "$T_SHARE"/P1/*.P1 2>/dev/null | wc -l)" = 2; ok $? "router: after a restart no third transfer file"
