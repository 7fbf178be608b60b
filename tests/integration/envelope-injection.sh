#!/bin/sh
# envelope-injection.sh - envelope addresses that would break an SMTP command are refused by spoolgate-sendmail and by the store itself (raw IPC), and nothing reaches a peer (issue 16).
. "$(dirname "$0")/lib.sh"
SUBMIT="python3 $top_srcdir/tests/integration/ipc_submit.py"
CRLF=$(printf '\r\nx'); CRLF=${CRLF%x} # $(...) would drop the LF
INJECT="a@sender.test>${CRLF}RCPT TO:<injected@evil.test"

plan 19
start_peer sink sink
# helo_check off: the odd EHLO name below must get through to show the Received header stays whole
# (with the check on it gets 501 5.5.2: smtpd-helo.sh).
write_router_config "relay.test smtp:[127.0.0.1]:$sink_PORT
sender.test smtp:[127.0.0.1]:$sink_PORT" "[smtpd]
helo_check = no"
start_mail_path
printf 'Subject: injection\n\nhello\n' > "$T_DIR/msg.txt"

# spoolgate-sendmail refuses before it connects, and says which address and why.
"$SENDMAIL" -s "$T_SOCKET" -f "$INJECT" bob@relay.test < "$T_DIR/msg.txt" > "$T_DIR/s1.out" 2> "$T_DIR/s1.err"
[ $? -eq 65 ] && [ ! -s "$T_DIR/s1.out" ]
ok $? "spoolgate-sendmail with a sender holding CRLF: exit 65 (EX_DATAERR), nothing queued"
[ "$(sed -n 1p "$T_DIR/s1.err")" = "spoolgate-sendmail: sender <a@sender.test>??RCPT TO:<injected@evil.test> refused: control character (CR, LF or other) in the address" ]
ok $? "it names the sender (line break shown as ??) and the reason, on stderr"
"$SENDMAIL" -s "$T_SOCKET" -f a@sender.test "bob@relay.test${CRLF}DATA" < "$T_DIR/msg.txt" > /dev/null 2> "$T_DIR/s2.err"
[ $? -eq 65 ] && grep -q "recipient <bob@relay.test??DATA> refused" "$T_DIR/s2.err"
ok $? "a recipient holding CRLF: refused, exit 65 (EX_DATAERR)"

# The store refuses the same, whoever asks: raw frames past every client-side check.
out=$($SUBMIT "$T_SOCKET" --sender "$INJECT" --rcpt bob@relay.test)
[ "$out" = "ERROR 3 sender address refused: control character (CR, LF or other) in the address" ]
ok $? "raw IPC, sender with CRLF: the store refuses the commit (got: $out)"
out=$($SUBMIT "$T_SOCKET" --sender a@sender.test --rcpt good@relay.test --rcpt "bob@relay.test${CRLF}RSET")
case "$out" in "ERROR 3 recipient 2 address refused: control character"*) r=0;; *) r=1;; esac
ok $r "raw IPC, second recipient with CRLF: refused, naming which (got: $out)"
out=$($SUBMIT "$T_SOCKET" --sender a@sender.test --rcpt bob@relay.test --orcpt "rfc822;x${CRLF}RSET")
case "$out" in "ERROR 3 recipient 1: ORCPT is not addr-type;xtext"*) r=0;; *) r=1;; esac
ok $r "raw IPC, ORCPT with CRLF: refused (got: $out)"
out=$($SUBMIT "$T_SOCKET" --sender a@sender.test --rcpt bob@relay.test --envid "x${CRLF}y")
[ "$out" = "ERROR 3 ENVID is not xtext" ]
ok $? "raw IPC, ENVID with CRLF: refused (got: $out)"
out=$($SUBMIT "$T_SOCKET" --sender "<a@sender.test>" --rcpt bob@relay.test)
case "$out" in "ERROR 3 sender address refused: "*) r=0;; *) r=1;; esac
ok $r "raw IPC, a sender in angle brackets (not a mailbox): refused (got: $out)"
out=$($SUBMIT "$T_SOCKET" --sender "" --rcpt postmaster)
case "$out" in "SUBMITTED "*) r=0;; *) r=1;; esac
ok $r "raw IPC, the null sender to a bare postmaster: still accepted (got: $out)"

[ "$(grep -c "submission refused: " "$T_STORE_LOG")" -eq 5 ]
ok $? "the store logs each of the five refusals"
$SPOOLCTL -s "$T_SOCKET" list --match injected | grep -q injected
[ $? -ne 0 ]; ok $? "no refused message is in the queue"

# The path still works, and the peer never saw an injected command.
"$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test bob@relay.test < "$T_DIR/msg.txt" > /dev/null
peer_got sink bob@relay.test; ok $? "a clean message through the same path reaches the peer"
! grep -rqi "injected\|evil.test" "$T_DIR/sink" "$T_DIR/sink.out"
ok $? "the peer never received injected@evil.test or any part of it"
# The client's EHLO name goes into our Received header with nothing that could end or bend it.
Q=$(python3 - "$SMTP_PORT" <<'PY'
import os, sys
sys.path.insert(0, os.environ["top_srcdir"] + "/tests/integration")
from smtp_raw import RawClient
c = RawClient(int(sys.argv[1]))
c.say(b"EHLO bad(x)name\\y\xc3\xa9")
c.say("MAIL FROM:<alice@sender.test>")
c.say("RCPT TO:<bob@relay.test>")
c.say("DATA")
got = c.say(b"Subject: helo\r\n\r\nhello\r\n.")
print(got.split()[-1] if got.startswith("250") else got)
c.close()
PY
)
wait_for 10 sh -c "grep -q '^Received: from bad?x?name?y?? (\[127.0.0.1\])' '$T_DIR'/sink/*.eml"
ok $? "an EHLO name with parentheses, a backslash and 8-bit octets reaches the Received header as bad?x?name?y?? (queued as $Q)"
store_alive; ok $? "spoolgate-store is still running"
kill -0 "$ROUTER_PID"; ok $? "spoolgate-router is still running"
