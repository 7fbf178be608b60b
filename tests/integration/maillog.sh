#!/bin/sh
# maillog.sh - one message's whole life in the maillog, the lines in Postfix's words: reject, client=, message-id=, from=, to= ... status=deferred/sent/bounced, the non-delivery notice, removed.
. "$(dirname "$0")/lib.sh"

plan 17
start_peer sink sink; start_peer grey greylist; start_peer rej reject
write_router_config "ok.test smtp:[127.0.0.1]:$sink_PORT
sender.test smtp:[127.0.0.1]:$sink_PORT
grey.test smtp:[127.0.0.1]:$grey_PORT
rej.test smtp:[127.0.0.1]:$rej_PORT
err.test error:5.1.2 err.test takes no mail" "retry_first = 1s
retry_max = 1s"
start_mail_path
# One message: three recipients taken, one refused at RCPT; an ORCPT on the first.
Q=$(python3 - "$SMTP_PORT" <<'PY'
import smtplib, sys
body = b"Message-ID: <life.1@maillog.test>\r\nSubject: a life\r\n\r\nbody\r\n"
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.ehlo("client.maillog.test")
    s.mail("alice@sender.test")
    s.rcpt("a@ok.test", ["ORCPT=rfc822;first@old.test"])
    s.rcpt("b@grey.test")
    s.rcpt("c@rej.test")
    code, _ = s.rcpt("d@err.test")
    assert code == 550, code
    code, msg = s.data(body)
    print(msg.decode().split()[-1])
PY
)
test -n "$Q"; ok $? "the message is queued as $Q"
lines() { grep -h " $Q: \|NOQUEUE" "$T_SMTPD_LOG" "$T_STORE_LOG" "$T_ROUTER_LOG" | sed 's/^/#   /'; }

grep -q "NOQUEUE: reject: RCPT from unknown\[127.0.0.1\]: 550 5.1.2 <d@err.test>: err.test takes no mail; from=<alice@sender.test> to=<d@err.test> proto=ESMTP helo=<client.maillog.test>" "$T_SMTPD_LOG"
ok $? "smtpd: the refused recipient as NOQUEUE: reject: RCPT from ..., with from=, to=, helo="
grep -q " $Q: client=unknown\[127.0.0.1\]$" "$T_SMTPD_LOG"; ok $? "smtpd: $Q: client=unknown[127.0.0.1]"
grep -q " $Q: message-id=<life.1@maillog.test>$" "$T_SMTPD_LOG"; ok $? "smtpd: $Q: message-id=<...>"
grep -q " $Q: from=<alice@sender.test>, size=[1-9][0-9]*, nrcpt=3 (queued by " "$T_STORE_LOG"
ok $? "store: $Q: from=<...>, size=N, nrcpt=3"

wait_for 15 grep -q " $Q: to=<b@grey.test>, .*status=sent" "$T_ROUTER_LOG"
LINE='relay=\[127.0.0.1\]:[0-9]*, delay=[0-9.]*, delays=[0-9.]*/[0-9.]*/[0-9.]*/[0-9.]*'
grep -q " $Q: to=<a@ok.test>, orig_to=<first@old.test>, $LINE, dsn=2\.0\.0, status=sent (250 " "$T_ROUTER_LOG"
ok $? "router: to=<a>, orig_to=<first>, relay=[ip]:port, delay, delays=a/b/c/d, dsn=2.0.0, status=sent (reply)"
grep -q " $Q: to=<b@grey.test>, $LINE, dsn=4\.7\.1, status=deferred (451 4.7.1 Greylisted" "$T_ROUTER_LOG"
ok $? "router: the greylisted recipient status=deferred with the reply"
test "$(grep -n " $Q: to=<b@grey.test>, .*status=deferred" "$T_ROUTER_LOG" | head -1 | cut -d: -f1)" -lt \
    "$(grep -n " $Q: to=<b@grey.test>, .*status=sent" "$T_ROUTER_LOG" | head -1 | cut -d: -f1)"
ok $? "router: and status=sent on the retry, after it"
grep -q " $Q: to=<c@rej.test>, $LINE, dsn=5\.1\.1, status=bounced (550 5.1.1 <c@rej.test>: Recipient address rejected" "$T_ROUTER_LOG"
ok $? "router: the refused recipient status=bounced with the remote reply"
DQ=$(sed -n "s/.* $Q: sender non-delivery notification: \([^ ]*\)$/\1/p" "$T_ROUTER_LOG" | head -1)
test -n "$DQ"; ok $? "router: $Q: sender non-delivery notification: $DQ"
wait_for 10 grep -q " $DQ: to=<alice@sender.test>, .*status=sent" "$T_ROUTER_LOG"
ok $? "router: the notification $DQ to the sender, status=sent"
wait_for 10 grep -q " $Q: removed$" "$T_STORE_LOG" && wait_for 10 grep -q " $DQ: removed$" "$T_STORE_LOG"
ok $? "store: $Q: removed, and $DQ: removed"
test "$(grep -c " $Q: to=" "$T_ROUTER_LOG")" = 4; ok $? "one to= line per attempt outcome (4)"
# The operator's own commands are no events: nothing at info in the store's log.
n=$(grep -vc ' debug: ' "$T_STORE_LOG")
"$SPOOLCTL" -s "$T_SOCKET" list > /dev/null && "$SPOOLCTL" -s "$T_SOCKET" stats > /dev/null
test "$(grep -vc ' debug: ' "$T_STORE_LOG")" = "$n"; ok $? "spoolctl calls add no line above debug"
[ "${T_FAILED:-0}" = 0 ] || lines | diag
