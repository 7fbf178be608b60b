#!/bin/sh
# router-lmtp.sh - the lmtp: transport (RFC 2033) to a mailbox server on a Unix socket and over TCP: LHLO, one reply per recipient after the final dot, each recorded on its own (delivered, deferred and failed in one session, with the DSN naming each), connections reused, a missing socket deferred naming it (issue 20).
. "$(dirname "$0")/lib.sh"

plan 12
LMTP_PY="python3 $top_srcdir/tests/integration/lmtp_server.py"
start_peer sink sink
LMTP_PORT=$(free_port)
$LMTP_PY --unix "$T_DIR/lmtp.sock" --dir "$T_DIR/box" > "$T_DIR/lmtp-unix.out" 2>&1 &
T_BG_PIDS="${T_BG_PIDS:-} $!"
$LMTP_PY --port "$LMTP_PORT" --dir "$T_DIR/tcpbox" > "$T_DIR/lmtp-tcp.out" 2>&1 &
T_BG_PIDS="${T_BG_PIDS:-} $!"
wait_for 15 grep -q ready "$T_DIR/lmtp-unix.out" && wait_for 15 grep -q ready "$T_DIR/lmtp-tcp.out"
ok $? "two LMTP servers (aiosmtpd's LMTP): one on a Unix socket, one on 127.0.0.1:$LMTP_PORT"
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT
box.test lmtp:unix:$T_DIR/lmtp.sock
tcpbox.test lmtp:[127.0.0.1]:$LMTP_PORT
nobox.test lmtp:unix:$T_DIR/none.sock
smtponly.test lmtp:[127.0.0.1]:$sink_PORT" "retry_first = 60s
retry_max = 60s"
start_store && start_router; ok $? "store and router start"
box_has() { grep -l "\"rcpt\": \"$2\"" "$T_DIR/$1"/*.json 2> /dev/null | wc -l; }

# ---- one message, four recipients, four outcomes -------------------------------------------
Q=$(printf 'Subject: four\n\nfor four boxes\n' | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test \
    ann@box.test full@box.test gone@box.test norcpt@box.test | awk '{print $NF}')
wait_for 10 sh -c "[ \$(grep -c '$Q: to=<[a-z]*@box.test>' '$T_ROUTER_LOG') -ge 4 ]"
test "$(box_has box ann@box.test)" = 1 && grep -q '"lhlo": "mx.test.invalid"' "$T_DIR"/box/*.json
ok $? "ann@box.test delivered over the Unix socket, once, after LHLO"
grep -q "$Q: to=<ann@box.test>, relay=unix:$T_DIR/lmtp.sock,.*status=sent (250 2.0.0 <ann@box.test> delivered)" "$T_ROUTER_LOG" &&
    grep -q "$Q: to=<full@box.test>, relay=unix:.*status=deferred (452 4.2.2 <full@box.test>: mailbox full)" "$T_ROUTER_LOG" &&
    grep -q "$Q: to=<gone@box.test>, relay=unix:.*status=bounced (550 5.2.1 <gone@box.test>: mailbox disabled)" "$T_ROUTER_LOG" &&
    grep -q "$Q: to=<norcpt@box.test>, relay=unix:.*status=bounced (550 5.1.1 <norcpt@box.test>: no such user here)" "$T_ROUTER_LOG"
r=$?; [ $r -eq 0 ] || grep "$Q: to=" "$T_ROUTER_LOG" | diag
ok $r "each recipient has its own outcome from the one session: sent, deferred (452), bounced after the dot (550), bounced at RCPT"
"$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" > "$T_DIR/list"
grep -q "full@box.test.*deferred.*452 4.2.2 <full@box.test>: mailbox full" "$T_DIR/list" && grep -q "lmtp:unix:$T_DIR/lmtp.sock" "$T_DIR/list"
r=$?; [ $r -eq 0 ] || diag < "$T_DIR/list"
ok $r "spoolctl list shows full@box.test deferred with the server's reply and the lmtp: route"
wait_for 10 sh -c "cat '$T_DIR'/sink/*.eml 2>/dev/null | grep -q 'gone@box.test'"
dsn=$(grep -l "gone@box.test" "$T_DIR"/sink/*.eml 2> /dev/null | head -1)
[ -n "$dsn" ] && grep -q "550 5.2.1 <gone@box.test>: mailbox disabled" "$dsn" && grep -q "550 5.1.1 <norcpt@box.test>: no such user here" "$dsn" &&
    ! grep -q "Final-Recipient: rfc822; *ann@box.test" "$dsn"
ok $? "one DSN to alice names both failed recipients with the server's replies, not the delivered one"

# ---- the server goes away after the first reply: the rest are deferred, the first kept -------
Q3=$(printf 'Subject: cut\n\ncut short\n' | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test \
    amy@box.test cut@box.test zed@box.test | awk '{print $NF}')
wait_for 10 sh -c "[ \$(grep -c '$Q3: to=<[a-z]*@box.test>' '$T_ROUTER_LOG') -ge 3 ]"
grep -q "$Q3: to=<amy@box.test>, .*status=sent (250 2.0.0 <amy@box.test> delivered)" "$T_ROUTER_LOG" &&
    grep -q "$Q3: to=<cut@box.test>, .*status=deferred" "$T_ROUTER_LOG" &&
    grep -q "$Q3: to=<zed@box.test>, .*status=deferred" "$T_ROUTER_LOG" && test "$(box_has box amy@box.test)" = 1
r=$?; [ $r -eq 0 ] || grep "$Q3: " "$T_ROUTER_LOG" | diag
ok $r "a server that closes after the first reply: that recipient delivered, the two without a reply deferred"

# ---- over TCP: several messages share a connection -----------------------------------------
stop_router
for i in 1 2 3 4 5; do printf 'Subject: tcp %s\n\nover tcp\n' "$i" | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test "bob$i@tcpbox.test" > /dev/null; done
start_router
wait_for 15 sh -c "[ \$(ls '$T_DIR'/tcpbox/*.json 2>/dev/null | wc -l) -ge 5 ]"
ok $? "five messages over TCP delivered"
conns=$(python3 -c "import json,glob; print(len({json.load(open(f))['conn'] for f in glob.glob('$T_DIR/tcpbox/*.json')}))")
test "$conns" -lt 5; ok $? "... over $conns connection(s): connections are reused"

# ---- a socket that is not there --------------------------------------------------------------
Q2=$(printf 'Subject: none\n\nnone\n' | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test x@nobox.test | awk '{print $NF}')
queue_shows 10 "$Q2" "deferred.*connect to unix:$T_DIR/none.sock: no such file or directory"
r=$?; [ $r -eq 0 ] || "$SPOOLCTL" -s "$T_SOCKET" list --match "$Q2" | diag
ok $r "a missing LMTP socket: deferred, naming the socket and the error"
# ---- an SMTP server where LMTP was expected: LHLO refused, no HELO tried ----------------------
Q4=$(printf 'Subject: smtp\n\nnot lmtp\n' | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test y@smtponly.test | awk '{print $NF}')
wait_for 10 grep -q "$Q4: to=<y@smtponly.test>, .*status=bounced (500 .*(to LHLO))" "$T_ROUTER_LOG"
r=$?; [ $r -eq 0 ] || grep "$Q4: " "$T_ROUTER_LOG" | diag
ok $r "a server that refuses LHLO with 500: failed, naming LHLO (no fall-back to HELO)"
kill -0 "$ROUTER_PID"; ok $? "the router is still running"
